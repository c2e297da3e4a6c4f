package dev.trainyard.collectives.reduce;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The fast FLOAT32 sum: C2 does not vectorize loops over buffer accesses, but it does vectorize
 * {@code a[i] += b[i]} over float arrays. So the kernel stages L1-sized blocks through two small
 * arrays (bulk copies are memcpy), which measured 1.6x faster than the element loop on this
 * project's machine. One instance per thread; float views of the buffers are cached by identity
 * (a collective reuses the same few buffers for every chunk), so the steady state allocates nothing.
 */
final class Float32Staging {
    private static final int BLOCK = 4096; // floats: 16 KiB per array, both fit in L1
    private static final int CACHED_VIEWS = 16;
    private static final ThreadLocal<Float32Staging> PER_THREAD = ThreadLocal.withInitial(Float32Staging::new);

    private final float[] a = new float[BLOCK];
    private final float[] b = new float[BLOCK];
    private final ByteBuffer[] viewOf = new ByteBuffer[CACHED_VIEWS];
    private final FloatBuffer[] views = new FloatBuffer[CACHED_VIEWS];
    private int nextVictim;

    static void sum(ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int count) {
        PER_THREAD.get().add(dst, dstOff, src, srcOff, count);
    }

    /** True if the staged kernel applies: byte offsets on float boundaries and native order. */
    static boolean applies(ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff) {
        return (dstOff & 3) == 0 && (srcOff & 3) == 0
                && dst.order() == ByteOrder.nativeOrder() && src.order() == ByteOrder.nativeOrder();
    }

    private void add(ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int count) {
        FloatBuffer d = view(dst);
        FloatBuffer s = view(src);
        int di = dstOff >> 2;
        int si = srcOff >> 2;
        for (int done = 0; done < count; ) {
            int k = Math.min(BLOCK, count - done);
            d.get(di + done, a, 0, k);
            s.get(si + done, b, 0, k);
            for (int i = 0; i < k; i++) {
                a[i] += b[i];
            }
            d.put(di + done, a, 0, k);
            done += k;
        }
    }

    /** A float view over the whole of {@code buf} (index 0 = byte 0). */
    private FloatBuffer view(ByteBuffer buf) {
        for (int i = 0; i < CACHED_VIEWS; i++) {
            if (viewOf[i] == buf) {
                return views[i];
            }
        }
        int slot = nextVictim;
        nextVictim = (nextVictim + 1) % CACHED_VIEWS;
        viewOf[slot] = buf;
        views[slot] = buf.duplicate().clear().order(buf.order()).asFloatBuffer();
        return views[slot];
    }
}
