package dev.trainyard.collectives;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Checks a caller's buffer for a collective, shared by every backend so they refuse the same things the same way. */
public final class HostBuffers {
    private HostBuffers() {
    }

    /** The bytes between position and limit as a native-order slice, or an error saying what is wrong with the buffer. */
    public static ByteBuffer view(ByteBuffer b, DataType type, String what) {
        if (!b.isDirect()) {
            throw new IllegalArgumentException(what + ": collectives need a direct ByteBuffer (ByteBuffer.allocateDirect or a"
                    + " tensor's native buffer); got a heap buffer. Use the array overloads for Java arrays.");
        }
        if (b.isReadOnly()) {
            throw new IllegalArgumentException(what + ": the buffer is read-only; collectives write their result in place");
        }
        if (b.remaining() % type.bytes() != 0) {
            throw new IllegalArgumentException(what + ": " + b.remaining() + " bytes remaining is not a multiple of "
                    + type + "'s " + type.bytes() + " bytes");
        }
        return b.slice().order(ByteOrder.nativeOrder());
    }

    /** Checks that {@code whole} holds exactly {@code size} blocks of {@code block}'s length (all-gather output, reduce-scatter input). */
    public static void requireBlocks(String wholeName, ByteBuffer whole, String blockName, ByteBuffer block, int size) {
        if ((long) block.limit() * size != whole.limit()) {
            throw new IllegalArgumentException(wholeName + " must hold size x " + blockName + " = " + size + " x " + block.limit()
                    + " bytes, but has " + whole.limit());
        }
    }
}
