package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.reduce.Reductions;
import io.grpc.HasByteBuffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A received frame: decoded header plus its payload. The payload normally stays in gRPC's own
 * (netty, direct) buffers, detached from the call: reducing or copying reads it in place, so a
 * received byte is copied once (into the result) instead of twice. Transports that cannot lend
 * their buffers get the payload copied into {@link #copied}.
 */
public final class InboundFrame implements Frame {
    public final byte[] header = new byte[FrameHeader.BYTES];
    /** Detached gRPC stream over the payload (implements {@link HasByteBuffer}); null if copied. */
    private InputStream lent;
    /** Fallback payload storage, allocated on first use. */
    private ByteBuffer copied;
    /** A payload read in place from memory the transport owns (a shared-memory slot), and where in it. */
    private ByteBuffer borrowed;
    private int borrowedOffset;
    /** Holds one element that straddles two of gRPC's buffers. */
    private final ByteBuffer straddle = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
    private final byte[] straddleBytes = new byte[8];
    /** The link it arrived on; releasing the frame grants that peer one more frame. */
    public PeerLink origin;

    int length() {
        return FrameHeader.length(header);
    }

    int step() {
        return FrameHeader.step(header);
    }

    int chunkOffset() {
        return FrameHeader.chunkOffset(header);
    }

    boolean belongsTo(Fingerprint fp) {
        return FrameHeader.sameFingerprint(header, fp);
    }

    Fingerprint fingerprint() {
        return FrameHeader.fingerprint(header);
    }

    public void lend(InputStream detachedPayload) {
        this.lent = detachedPayload;
    }

    /** The payload is {@code memory[offset, offset + length())}, valid until the frame is released. */
    public void borrow(ByteBuffer memory, int offset) {
        this.borrowed = memory;
        this.borrowedOffset = offset;
    }

    public ByteBuffer copyBuffer(int capacity) {
        if (copied == null || copied.capacity() < capacity) {
            copied = ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
        }
        return copied;
    }

    /** {@code dst[dstOff..] = payload}; consumes the payload. */
    public void copyTo(ByteBuffer dst, int dstOff) {
        apply(null, null, dst, dstOff);
    }

    /** {@code dst[dstOff..] = dst[dstOff..] op payload}, element-wise; consumes the payload. */
    public void reduceInto(DataType type, ReduceOp op, ByteBuffer dst, int dstOff) {
        apply(type, op, dst, dstOff);
    }

    private void apply(DataType type, ReduceOp op, ByteBuffer dst, int dstOff) {
        int len = length();
        if (borrowed != null) {
            combine(type, op, dst, dstOff, borrowed, borrowedOffset, len);
            return;
        }
        if (lent == null) {
            combine(type, op, dst, dstOff, copied, 0, len);
            return;
        }
        HasByteBuffer pieces = (HasByteBuffer) lent;
        int unit = type == null ? 1 : type.bytes();
        try {
            for (int done = 0; done < len; ) {
                ByteBuffer bb = pieces.getByteBuffer();
                int whole = bb == null ? 0 : Math.min(bb.remaining(), len - done) / unit * unit;
                if (whole > 0) {
                    combine(type, op, dst, dstOff + done, bb.order(ByteOrder.nativeOrder()), bb.position(), whole);
                    lent.skip(whole);
                    done += whole;
                } else { // one element split across two buffers
                    readFully(lent, straddleBytes, unit);
                    straddle.put(0, straddleBytes, 0, unit);
                    combine(type, op, dst, dstOff + done, straddle, 0, unit);
                    done += unit;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read a received frame", e);
        }
    }

    private static void combine(DataType type, ReduceOp op, ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int bytes) {
        if (type == null) {
            dst.put(dstOff, src, srcOff, bytes);
        } else {
            Reductions.reduce(type, op, dst, dstOff, src, srcOff, bytes / type.bytes());
        }
    }

    private static void readFully(InputStream in, byte[] b, int len) throws IOException {
        for (int done = 0; done < len; ) {
            int n = in.read(b, done, len - done);
            if (n < 0) {
                throw new IOException("frame payload truncated");
            }
            done += n;
        }
    }

    /** Gives gRPC its buffers back. */
    void clear() {
        if (lent != null) {
            try {
                lent.close();
            } catch (IOException ignored) {
                // releasing netty buffers does not fail
            }
            lent = null;
        }
        borrowed = null;
        origin = null;
    }
}
