package dev.trainyard.collectives.reduce;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class ReductionsTest {

    @Test
    void float16RoundTripsEveryValueAndRoundsToNearestEven() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = HalfFloats.float16ToFloat(h);
            if (Float.isNaN(f)) {
                assertEquals(0x7c00, bits & 0x7c00);
                continue;
            }
            assertEquals(h, HalfFloats.floatToFloat16(f), "bits " + Integer.toHexString(bits));
        }
        assertEquals(65504f, HalfFloats.float16ToFloat((short) 0x7bff));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(65520f)));
        assertEquals(65504f, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(65519f)));
        // 1 + 2^-11 is halfway between 1 and the next half (1 + 2^-10): ties to even gives 1.
        assertEquals(1f, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(1f + 0x1p-11f)));
        assertEquals(1f + 0x1p-9f, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(1f + 0x1.8p-10f)));
        assertEquals(0x1p-24f, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(0x1p-24f)), "smallest subnormal");
        assertEquals(0f, HalfFloats.float16ToFloat(HalfFloats.floatToFloat16(0x1p-26f)));
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.bfloat16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, HalfFloats.floatToBfloat16(f));
            }
        }
        assertEquals(1f, HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16(1f + 0x1p-8f)), "tie to even");
        assertEquals(1f + 0x1p-6f, HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16(1f + 0x1.8p-7f)), "tie to even, up");
        assertEquals(Float.NaN, HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16(Float.NaN)));
    }

    @Test
    void kernelsMatchScalarArithmeticAtOffsets() {
        ByteBuffer a = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        ByteBuffer b = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        a.putLong(8, Long.MAX_VALUE - 1).putLong(16, -5);
        b.putLong(24, 1).putLong(32, 7);
        Reductions.reduce(DataType.INT64, ReduceOp.SUM, a, 8, b, 24, 2);
        assertEquals(Long.MAX_VALUE, a.getLong(8));
        assertEquals(2, a.getLong(16));
        a.putInt(0, -7);
        Reductions.divide(DataType.INT32, a, 0, 1, 2);
        assertEquals(-3, a.getInt(0), "integer AVG truncates toward zero, like torch");
        a.putFloat(40, 3f);
        b.putFloat(0, -2f);
        Reductions.reduce(DataType.FLOAT32, ReduceOp.MIN, a, 40, b, 0, 1);
        assertEquals(-2f, a.getFloat(40));
        a.putDouble(48, 1.5);
        b.putDouble(8, 4);
        Reductions.reduce(DataType.FLOAT64, ReduceOp.PRODUCT, a, 48, b, 8, 1);
        assertEquals(6.0, a.getDouble(48));
        a.putShort(56, HalfFloats.floatToFloat16(1000f));
        b.putShort(2, HalfFloats.floatToFloat16(0.2f));
        Reductions.reduce(DataType.FLOAT16, ReduceOp.SUM, a, 56, b, 2, 1);
        assertEquals(1000f, HalfFloats.float16ToFloat(a.getShort(56)), "1000.2 rounds to 1000 in float16 (spacing 0.5 there)");
    }

    @Test
    void stagedFloat32SumEqualsTheScalarLoopBitForBit() {
        int count = 10_007; // more than two staging blocks, not a multiple of one
        ByteBuffer dst = ByteBuffer.allocateDirect(4 * count + 64).order(ByteOrder.nativeOrder());
        ByteBuffer src = ByteBuffer.allocateDirect(4 * count + 64).order(ByteOrder.nativeOrder());
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        float[] want = new float[count];
        for (int i = 0; i < count; i++) {
            float a = (float) rnd.nextDouble(-1e3, 1e3);
            float b = (float) rnd.nextDouble(-1, 1);
            dst.putFloat(12 + 4 * i, a);
            src.putFloat(40 + 4 * i, b);
            want[i] = a + b;
        }
        Reductions.reduce(DataType.FLOAT32, ReduceOp.SUM, dst, 12, src, 40, count);
        for (int i = 0; i < count; i++) {
            assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(dst.getFloat(12 + 4 * i)), "element " + i);
        }
        assertEquals(0f, dst.getFloat(8), "bytes before the range are untouched");
        assertEquals(0f, dst.getFloat(12 + 4 * count), "bytes after the range are untouched");
    }
}
