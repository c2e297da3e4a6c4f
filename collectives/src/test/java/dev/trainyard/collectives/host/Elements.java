package dev.trainyard.collectives.host;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.reduce.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads and writes elements of any type as doubles, and computes reference results naively. */
final class Elements {
    private Elements() {
    }

    /** {@code count} float32 elements, all {@code value}. */
    static ByteBuffer floats(int count, float value) {
        ByteBuffer b = allocate(DataType.FLOAT32, count);
        for (int i = 0; i < count; i++) {
            b.putFloat(i * 4, value);
        }
        return b;
    }

    static ByteBuffer allocate(DataType t, int count) {
        return ByteBuffer.allocateDirect(count * t.bytes()).order(ByteOrder.nativeOrder());
    }

    static void put(DataType t, ByteBuffer b, int i, double v) {
        int p = i * t.bytes();
        switch (t) {
            case FLOAT32 -> b.putFloat(p, (float) v);
            case FLOAT64 -> b.putDouble(p, v);
            case INT32 -> b.putInt(p, (int) v);
            case INT64 -> b.putLong(p, (long) v);
            case FLOAT16 -> b.putShort(p, HalfFloats.floatToFloat16((float) v));
            case BFLOAT16 -> b.putShort(p, HalfFloats.floatToBfloat16((float) v));
        }
    }

    static double get(DataType t, ByteBuffer b, int i) {
        int p = i * t.bytes();
        return switch (t) {
            case FLOAT32 -> b.getFloat(p);
            case FLOAT64 -> b.getDouble(p);
            case INT32 -> b.getInt(p);
            case INT64 -> b.getLong(p);
            case FLOAT16 -> HalfFloats.float16ToFloat(b.getShort(p));
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(b.getShort(p));
        };
    }

    /**
     * Small integers, exactly representable in every type, chosen so sums and products of up to
     * 8 ranks stay exact too (|sum| <= 32, |product| <= 256): reference results are exact.
     */
    static double value(ReduceOp op, int rank, int i) {
        if (op == ReduceOp.PRODUCT) {
            int k = Math.floorMod(i * 7 + rank * 3, 4);
            return new double[] {1, 2, -1, 1}[k];
        }
        return Math.floorMod(i * 31 + rank * 17 + 5, 9) - 4;
    }

    /** The reduction of {@link #value} over {@code n} ranks at element i, rounded as the type's AVG division rounds. */
    static double expected(DataType t, ReduceOp op, int n, int i) {
        double acc = value(op, 0, i);
        for (int r = 1; r < n; r++) {
            double v = value(op, r, i);
            acc = switch (op) {
                case SUM, AVG -> acc + v;
                case PRODUCT -> acc * v;
                case MIN -> Math.min(acc, v);
                case MAX -> Math.max(acc, v);
            };
        }
        if (op != ReduceOp.AVG) {
            return acc;
        }
        return switch (t) {
            case FLOAT32 -> (float) acc / n;
            case FLOAT64 -> acc / n;
            case INT32, INT64 -> (long) acc / n;
            case FLOAT16 -> HalfFloats.float16ToFloat(HalfFloats.floatToFloat16((float) acc / n));
            case BFLOAT16 -> HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16((float) acc / n));
        };
    }
}
