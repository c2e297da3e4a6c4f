package dev.trainyard.collectives.reduce;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;

/**
 * Element-wise reduction kernels over native-order direct buffers: {@code dst[i] = dst[i] op src[i]}.
 * Offsets are absolute byte offsets; buffer positions are never touched and nothing is allocated,
 * so the kernels can run per chunk on the hot path. AVG reduces as SUM; the caller divides once
 * with {@link #divide}. FLOAT16/BFLOAT16 are combined in float32 and rounded back per step, like NCCL.
 */
public final class Reductions {
    private Reductions() {
    }

    public static void reduce(DataType type, ReduceOp op, ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int count) {
        switch (type) {
            case FLOAT32 -> reduceFloat32(op, dst, dstOff, src, srcOff, count);
            case FLOAT64 -> {
                for (int i = 0; i < count; i++) {
                    int d = dstOff + 8 * i;
                    dst.putDouble(d, combine(op, dst.getDouble(d), src.getDouble(srcOff + 8 * i)));
                }
            }
            case INT32 -> {
                for (int i = 0; i < count; i++) {
                    int d = dstOff + 4 * i;
                    dst.putInt(d, combine(op, dst.getInt(d), src.getInt(srcOff + 4 * i)));
                }
            }
            case INT64 -> {
                for (int i = 0; i < count; i++) {
                    int d = dstOff + 8 * i;
                    dst.putLong(d, combine(op, dst.getLong(d), src.getLong(srcOff + 8 * i)));
                }
            }
            case FLOAT16, BFLOAT16 -> reduceHalf(type == DataType.BFLOAT16, op, dst, dstOff, src, srcOff, count);
        }
    }

    /** Divides every element by {@code divisor} (the AVG step); integers truncate toward zero. */
    public static void divide(DataType type, ByteBuffer buf, int off, int count, int divisor) {
        if (divisor == 1) {
            return;
        }
        switch (type) {
            case FLOAT32 -> {
                for (int i = 0; i < count; i++) {
                    int p = off + 4 * i;
                    buf.putFloat(p, buf.getFloat(p) / divisor);
                }
            }
            case FLOAT64 -> {
                for (int i = 0; i < count; i++) {
                    int p = off + 8 * i;
                    buf.putDouble(p, buf.getDouble(p) / divisor);
                }
            }
            case INT32 -> {
                for (int i = 0; i < count; i++) {
                    int p = off + 4 * i;
                    buf.putInt(p, buf.getInt(p) / divisor);
                }
            }
            case INT64 -> {
                for (int i = 0; i < count; i++) {
                    int p = off + 8 * i;
                    buf.putLong(p, buf.getLong(p) / divisor);
                }
            }
            case FLOAT16, BFLOAT16 -> {
                boolean bf = type == DataType.BFLOAT16;
                for (int i = 0; i < count; i++) {
                    int p = off + 2 * i;
                    buf.putShort(p, encode(bf, decode(bf, buf.getShort(p)) / divisor));
                }
            }
        }
    }

    private static void reduceFloat32(ReduceOp op, ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int count) {
        if (op == ReduceOp.SUM || op == ReduceOp.AVG) {
            // The gradient path.
            if (Float32Staging.applies(dst, dstOff, src, srcOff)) {
                Float32Staging.sum(dst, dstOff, src, srcOff, count);
                return;
            }
            for (int i = 0; i < count; i++) {
                int d = dstOff + 4 * i;
                dst.putFloat(d, dst.getFloat(d) + src.getFloat(srcOff + 4 * i));
            }
            return;
        }
        for (int i = 0; i < count; i++) {
            int d = dstOff + 4 * i;
            dst.putFloat(d, combine(op, dst.getFloat(d), src.getFloat(srcOff + 4 * i)));
        }
    }

    private static void reduceHalf(boolean bf, ReduceOp op, ByteBuffer dst, int dstOff, ByteBuffer src, int srcOff, int count) {
        for (int i = 0; i < count; i++) {
            int d = dstOff + 2 * i;
            float r = combine(op, decode(bf, dst.getShort(d)), decode(bf, src.getShort(srcOff + 2 * i)));
            dst.putShort(d, encode(bf, r));
        }
    }

    private static float decode(boolean bf, short v) {
        return bf ? HalfFloats.bfloat16ToFloat(v) : HalfFloats.float16ToFloat(v);
    }

    private static short encode(boolean bf, float v) {
        return bf ? HalfFloats.floatToBfloat16(v) : HalfFloats.floatToFloat16(v);
    }

    static float combine(ReduceOp op, float a, float b) {
        return switch (op) {
            case SUM, AVG -> a + b;
            case PRODUCT -> a * b;
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
        };
    }

    static double combine(ReduceOp op, double a, double b) {
        return switch (op) {
            case SUM, AVG -> a + b;
            case PRODUCT -> a * b;
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
        };
    }

    static int combine(ReduceOp op, int a, int b) {
        return switch (op) {
            case SUM, AVG -> a + b;
            case PRODUCT -> a * b;
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
        };
    }

    static long combine(ReduceOp op, long a, long b) {
        return switch (op) {
            case SUM, AVG -> a + b;
            case PRODUCT -> a * b;
            case MIN -> Math.min(a, b);
            case MAX -> Math.max(a, b);
        };
    }
}
