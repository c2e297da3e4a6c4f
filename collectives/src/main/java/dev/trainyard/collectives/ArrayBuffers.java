package dev.trainyard.collectives;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Copies between Java arrays and native-order direct buffers for the array conveniences. */
final class ArrayBuffers {
    private ArrayBuffers() {
    }

    static ByteBuffer direct(long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(bytes + " bytes do not fit in one ByteBuffer (max 2 GiB); split the call");
        }
        return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
    }

    static ByteBuffer of(float[] a) {
        ByteBuffer b = direct((long) a.length * Float.BYTES);
        b.asFloatBuffer().put(a);
        return b;
    }

    static ByteBuffer of(double[] a) {
        ByteBuffer b = direct((long) a.length * Double.BYTES);
        b.asDoubleBuffer().put(a);
        return b;
    }

    static ByteBuffer of(int[] a) {
        ByteBuffer b = direct((long) a.length * Integer.BYTES);
        b.asIntBuffer().put(a);
        return b;
    }

    static ByteBuffer of(long[] a) {
        ByteBuffer b = direct((long) a.length * Long.BYTES);
        b.asLongBuffer().put(a);
        return b;
    }

    static void copyBack(ByteBuffer b, float[] a) {
        b.asFloatBuffer().get(a);
    }

    static void copyBack(ByteBuffer b, double[] a) {
        b.asDoubleBuffer().get(a);
    }

    static void copyBack(ByteBuffer b, int[] a) {
        b.asIntBuffer().get(a);
    }

    static void copyBack(ByteBuffer b, long[] a) {
        b.asLongBuffer().get(a);
    }
}
