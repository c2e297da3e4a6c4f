package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;

/**
 * Wire layout of the fixed 40-byte header in front of every data frame (big-endian):
 * op, reduceOp, dataType, reserved (1 byte each), root (4), seq (8), count (8),
 * step (4), chunk offset (4), payload length (4), header magic (4).
 * The first 28 bytes are the collective's fingerprint, so every frame proves which call it belongs to.
 */
public final class FrameHeader {
    public static final int BYTES = 40;
    /** A header-only signal on a TCP link: the peer closes its communicator (goodbye). */
    public static final int BYE_LENGTH = -1;
    /** A header-only signal on a shared-memory link: the peer's collective thread sleeps and a frame or a free slot awaits it. */
    public static final int DOORBELL_LENGTH = -2;
    private static final int MAGIC = 0x54594431; // "TYD1"
    private static final CollectiveOp[] OPS = CollectiveOp.values();
    private static final ReduceOp[] REDUCE_OPS = ReduceOp.values();
    private static final DataType[] TYPES = DataType.values();

    private FrameHeader() {
    }

    public static void encode(byte[] h, Fingerprint fp, int step, int chunkOffset, int length) {
        h[0] = (byte) fp.op().ordinal();
        h[1] = (byte) (fp.reduceOp() == null ? 0xff : fp.reduceOp().ordinal());
        h[2] = (byte) fp.dataType().ordinal();
        h[3] = 0;
        putInt(h, 4, fp.root());
        putLong(h, 8, fp.seq());
        putLong(h, 16, fp.count());
        putInt(h, 24, step);
        putInt(h, 28, chunkOffset);
        putInt(h, 32, length);
        putInt(h, 36, MAGIC);
    }

    /** The goodbye a TCP link sends before closing its direction gracefully. */
    public static void encodeBye(byte[] h) {
        encodeSignal(h, BYE_LENGTH);
    }

    /** A header without payload whose negative length is a signal ({@link #BYE_LENGTH}, {@link #DOORBELL_LENGTH}). */
    public static void encodeSignal(byte[] h, int signal) {
        java.util.Arrays.fill(h, (byte) 0);
        putInt(h, 32, signal);
        putInt(h, 36, MAGIC);
    }

    /** True if the header's fingerprint part equals {@code fp}; compares bytes, allocates nothing. */
    public static boolean sameFingerprint(byte[] h, Fingerprint fp) {
        return h[0] == (byte) fp.op().ordinal()
                && h[1] == (byte) (fp.reduceOp() == null ? 0xff : fp.reduceOp().ordinal())
                && h[2] == (byte) fp.dataType().ordinal()
                && getInt(h, 4) == fp.root()
                && getLong(h, 8) == fp.seq()
                && getLong(h, 16) == fp.count();
    }

    /** Decodes the fingerprint part (failure paths only). */
    public static Fingerprint fingerprint(byte[] h) {
        int op = h[0] & 0xff;
        int red = h[1] & 0xff;
        int type = h[2] & 0xff;
        if (op >= OPS.length || (red != 0xff && red >= REDUCE_OPS.length) || type >= TYPES.length) {
            return null;
        }
        return new Fingerprint(getLong(h, 8), OPS[op], red == 0xff ? null : REDUCE_OPS[red], TYPES[type], getLong(h, 16), getInt(h, 4));
    }

    public static boolean validMagic(byte[] h) {
        return getInt(h, 36) == MAGIC;
    }

    static int step(byte[] h) {
        return getInt(h, 24);
    }

    static int chunkOffset(byte[] h) {
        return getInt(h, 28);
    }

    public static int length(byte[] h) {
        return getInt(h, 32);
    }

    private static void putInt(byte[] b, int i, int v) {
        b[i] = (byte) (v >>> 24);
        b[i + 1] = (byte) (v >>> 16);
        b[i + 2] = (byte) (v >>> 8);
        b[i + 3] = (byte) v;
    }

    private static void putLong(byte[] b, int i, long v) {
        putInt(b, i, (int) (v >>> 32));
        putInt(b, i + 4, (int) v);
    }

    private static int getInt(byte[] b, int i) {
        return ((b[i] & 0xff) << 24) | ((b[i + 1] & 0xff) << 16) | ((b[i + 2] & 0xff) << 8) | (b[i + 3] & 0xff);
    }

    private static long getLong(byte[] b, int i) {
        return ((long) getInt(b, i) << 32) | (getInt(b, i + 4) & 0xffffffffL);
    }
}
