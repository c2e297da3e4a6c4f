package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.Fingerprint;
import io.grpc.Drainable;
import io.grpc.KnownLength;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * A frame to send: header plus a region of a direct buffer. gRPC serializes it synchronously
 * inside {@code sendMessage} (we only send when the call is ready, so no delayed stream holds it),
 * which lets one instance per link be reused for every frame: no allocation per chunk.
 * The payload goes straight from the caller's buffer into gRPC's output, with no protobuf copy.
 */
public final class OutboundFrame extends InputStream implements Frame, Drainable, KnownLength {
    private final byte[] header = new byte[FrameHeader.BYTES];
    private final byte[] scratch;
    private ByteBuffer src;
    private int srcOffset;
    private int length;
    private int consumed; // for the plain InputStream path, which gRPC does not use with Drainable

    public OutboundFrame(byte[] scratch) {
        this.scratch = scratch;
    }

    public OutboundFrame set(Fingerprint fp, int step, int chunkOffset, ByteBuffer src, int srcOffset, int length) {
        FrameHeader.encode(header, fp, step, chunkOffset, length);
        this.src = src;
        this.srcOffset = srcOffset;
        this.length = length;
        this.consumed = 0;
        return this;
    }

    @Override
    public int drainTo(OutputStream target) throws IOException {
        target.write(header, 0, FrameHeader.BYTES);
        for (int done = 0; done < length; ) {
            int n = Math.min(scratch.length, length - done);
            src.get(srcOffset + done, scratch, 0, n);
            target.write(scratch, 0, n);
            done += n;
        }
        consumed = FrameHeader.BYTES + length;
        src = null; // the caller's buffer may be reused from here on
        return consumed;
    }

    @Override
    public int available() {
        return FrameHeader.BYTES + length - consumed;
    }

    @Override
    public int read() {
        byte[] one = new byte[1];
        return read(one, 0, 1) == 1 ? one[0] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
        int left = available();
        if (left == 0) {
            return -1;
        }
        int n = Math.min(len, left);
        for (int i = 0; i < n; i++, consumed++) {
            b[off + i] = consumed < FrameHeader.BYTES ? header[consumed] : src.get(srcOffset + consumed - FrameHeader.BYTES);
        }
        return n;
    }
}
