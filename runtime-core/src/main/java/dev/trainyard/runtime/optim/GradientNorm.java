package dev.trainyard.runtime.optim;

import java.nio.FloatBuffer;

/**
 * The global L2 norm of all gradients, for clipping as PyTorch's {@code clip_grad_norm_} does
 * ({@code scale = maxNorm / (norm + 1e-6)}, applied only when below 1). Computed after the
 * all-reduce from the averaged gradients, which are bit-identical on every rank, with the same
 * code everywhere: so every rank finds the same norm and the same scale, and parameters stay
 * identical without another collective.
 */
public final class GradientNorm {
    private final float[] tile = new float[FusedOptimizer.TILE];

    /** L2 norm over the first {@code counts[b]} floats of every {@code grads[b]}. */
    public double of(FloatBuffer[] grads, int[] counts) {
        return Math.sqrt(sumOfSquares(grads, counts));
    }

    /** The squared norm: what ranks holding disjoint shards add up before taking the root. */
    public double sumOfSquares(FloatBuffer[] grads, int[] counts) {
        double sum = 0;
        for (int b = 0; b < grads.length; b++) {
            for (int off = 0; off < counts[b]; off += tile.length) {
                int len = Math.min(tile.length, counts[b] - off);
                grads[b].get(off, tile, 0, len);
                sum += tileSumOfSquares(tile, len);
            }
        }
        return sum;
    }

    /** Eight independent sums: a single running sum would wait on each addition's latency. */
    private static double tileSumOfSquares(float[] t, int len) {
        float a0 = 0;
        float a1 = 0;
        float a2 = 0;
        float a3 = 0;
        float a4 = 0;
        float a5 = 0;
        float a6 = 0;
        float a7 = 0;
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            a0 += t[i] * t[i];
            a1 += t[i + 1] * t[i + 1];
            a2 += t[i + 2] * t[i + 2];
            a3 += t[i + 3] * t[i + 3];
            a4 += t[i + 4] * t[i + 4];
            a5 += t[i + 5] * t[i + 5];
            a6 += t[i + 6] * t[i + 6];
            a7 += t[i + 7] * t[i + 7];
        }
        for (; i < len; i++) {
            a0 += t[i] * t[i];
        }
        return (double) a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }

    /** The factor gradients are multiplied by: {@code maxNorm / (norm + 1e-6)} when that is below 1, else 1. */
    public static float clipScale(double norm, double maxNorm) {
        double coef = maxNorm / (norm + 1e-6);
        return coef < 1 ? (float) coef : 1f;
    }
}
