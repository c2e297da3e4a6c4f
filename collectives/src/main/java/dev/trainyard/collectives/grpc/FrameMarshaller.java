package dev.trainyard.collectives.grpc;

import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * ByteBuffer marshaller of the data plane: sending drains an {@link OutboundFrame} directly;
 * parsing copies the payload once, from gRPC's (netty) buffers into a pooled direct buffer.
 */
final class FrameMarshaller implements MethodDescriptor.Marshaller<Frame> {
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[64 << 10]);
    private final FramePool pool;

    FrameMarshaller(FramePool pool) {
        this.pool = pool;
    }

    @Override
    public InputStream stream(Frame frame) {
        return (OutboundFrame) frame;
    }

    @Override
    public Frame parse(InputStream in) {
        InboundFrame f = pool.take();
        try (in) {
            readFully(in, f.header, FrameHeader.BYTES);
            int len = FrameHeader.length(f.header);
            if (!FrameHeader.validMagic(f.header) || len < 0 || len > pool.frameCapacity()) {
                pool.give(f);
                throw Status.INTERNAL.withDescription("malformed data-plane frame (bad magic or length " + len
                        + "): the peer runs an incompatible Trainyard version or uses a different chunk size").asRuntimeException();
            }
            copyPayload(in, f.payload, len);
            return f;
        } catch (IOException e) {
            pool.give(f);
            throw Status.INTERNAL.withDescription("cannot read data-plane frame: " + e).withCause(e).asRuntimeException();
        }
    }

    private static void copyPayload(InputStream in, ByteBuffer dst, int len) throws IOException {
        int done = 0;
        if (in instanceof HasByteBuffer hb && hb.byteBufferSupported()) {
            while (done < len) {
                ByteBuffer bb = hb.getByteBuffer();
                if (bb == null) {
                    break;
                }
                int n = Math.min(bb.remaining(), len - done);
                dst.put(done, bb, bb.position(), n);
                in.skip(n);
                done += n;
            }
        }
        byte[] scratch = SCRATCH.get();
        while (done < len) {
            int n = in.read(scratch, 0, Math.min(scratch.length, len - done));
            if (n < 0) {
                throw new IOException("frame truncated at " + done + " of " + len + " payload bytes");
            }
            dst.put(done, scratch, 0, n);
            done += n;
        }
    }

    private static void readFully(InputStream in, byte[] b, int len) throws IOException {
        for (int done = 0; done < len; ) {
            int n = in.read(b, done, len - done);
            if (n < 0) {
                throw new IOException("frame header truncated at " + done + " bytes");
            }
            done += n;
        }
    }
}
