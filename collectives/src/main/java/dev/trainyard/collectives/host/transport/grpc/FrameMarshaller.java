package dev.trainyard.collectives.host.transport.grpc;

import dev.trainyard.collectives.host.transport.Frame;
import dev.trainyard.collectives.host.transport.FrameHeader;
import dev.trainyard.collectives.host.transport.FramePool;
import dev.trainyard.collectives.host.transport.InboundFrame;
import dev.trainyard.collectives.host.transport.OutboundFrame;
import io.grpc.Detachable;
import io.grpc.HasByteBuffer;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * ByteBuffer marshaller of the data plane. Sending drains an {@link OutboundFrame} straight from
 * the caller's buffer. Parsing reads the 40-byte header and detaches the payload from the call
 * without copying it (gRPC's {@link Detachable} + {@link HasByteBuffer}); only transports that
 * cannot lend buffers pay a copy.
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
        try {
            readFully(in, f.header, FrameHeader.BYTES);
            int len = FrameHeader.length(f.header);
            if (!FrameHeader.validMagic(f.header) || len < 0 || len > pool.maxPayload()) {
                in.close();
                pool.give(f);
                throw Status.INTERNAL.withDescription("malformed data-plane frame (bad magic or length " + len
                        + "): the peer runs an incompatible Trainyard version or a larger chunk size").asRuntimeException();
            }
            if (in instanceof Detachable d && in instanceof HasByteBuffer hb && hb.byteBufferSupported()) {
                f.lend(d.detach());
            } else {
                copyPayload(in, f.copyBuffer(pool.maxPayload()), len);
                in.close();
            }
            return f;
        } catch (IOException e) {
            pool.give(f);
            throw Status.INTERNAL.withDescription("cannot read data-plane frame: " + e).withCause(e).asRuntimeException();
        }
    }

    private static void copyPayload(InputStream in, ByteBuffer dst, int len) throws IOException {
        byte[] scratch = SCRATCH.get();
        for (int done = 0; done < len; ) {
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
