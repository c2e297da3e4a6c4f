package dev.trainyard.runtime.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Fused optimizers against two independent computations: PyTorch 1.13's optimizers (trajectories
 * kept as test data, made by scripts/optimizer-reference.py) and a double-precision
 * re-implementation of the same formulas written here, over 50 steps of gradients that depend on
 * the parameters (g = sin(0.37 i + 0.11 t) + 0.5 p).
 */
class FusedOptimizerTest {
    private static final int STEPS = 50;

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static float gradient(int i, int t, float p) {
        return (float) Math.sin(0.37 * i + 0.11 * t) + 0.5f * p;
    }

    /** Trains parameters spread over buckets of {@code sizes} floats; returns them concatenated. */
    private static float[] train(FusedOptimizer opt, int[] sizes, double clip) {
        FloatBuffer[] p = new FloatBuffer[sizes.length];
        FloatBuffer[] g = new FloatBuffer[sizes.length];
        int total = 0;
        for (int b = 0; b < sizes.length; b++) {
            p[b] = direct(sizes[b]);
            g[b] = direct(sizes[b]);
            for (int j = 0; j < sizes[b]; j++) {
                p[b].put(j, (float) Math.cos(0.5 * (total + j)));
            }
            total += sizes[b];
        }
        OptimizerState state = opt.newState(sizes);
        GradientNorm norm = new GradientNorm();
        for (int t = 0; t < STEPS; t++) {
            int i0 = 0;
            for (int b = 0; b < sizes.length; b++) {
                for (int j = 0; j < sizes[b]; j++) {
                    g[b].put(j, gradient(i0 + j, t, p[b].get(j)));
                }
                i0 += sizes[b];
            }
            float scale = clip > 0 ? GradientNorm.clipScale(norm.of(g, sizes), clip) : 1f;
            opt.step(p, g, state, scale);
            for (int b = 0; b < sizes.length; b++) {
                for (int j = 0; j < sizes[b]; j++) {
                    assertEquals(0f, g[b].get(j), "gradients are zeroed by the step");
                }
            }
        }
        assertEquals(STEPS, state.steps());
        float[] out = new float[total];
        int o = 0;
        for (int b = 0; b < sizes.length; b++) {
            p[b].get(0, out, o, sizes[b]);
            o += sizes[b];
        }
        return out;
    }

    private static LearningRateSchedule schedule(String name, double lr) {
        return switch (name) {
            case "constant" -> LearningRateSchedule.constant(lr);
            case "warmup-cosine" -> LearningRateSchedule.warmupCosine(lr, 10, STEPS, 0);
            case "linear-warmup" -> LearningRateSchedule.linearWarmup(lr, 20);
            case "step" -> LearningRateSchedule.stepDecay(lr, 15, 0.5);
            case "multi-step" -> LearningRateSchedule.multiStep(lr, new long[] {30, 10}, 0.3);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static FusedOptimizer optimizer(String name, LearningRateSchedule lr) {
        return switch (name) {
            case "sgd" -> Sgd.plain(lr);
            case "momentum" -> new Sgd(lr, 0.9, 0, false, 0.01);
            case "nesterov" -> new Sgd(lr, 0.9, 0, true, 0);
            case "adam" -> Adam.adam(lr, 0.9, 0.999, 1e-8, 0.01);
            case "adamw" -> Adam.adamW(lr, 0.9, 0.999, 1e-8, 0.05);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static double baseRate(String optimizer) {
        return optimizer.startsWith("adam") ? 0.01 : 0.1;
    }

    static Stream<Arguments> pytorchCases() throws Exception {
        try (var in = FusedOptimizerTest.class.getResourceAsStream("/optimizer-reference.json")) {
            JsonObject root = JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
            List<Arguments> cases = new ArrayList<>();
            for (var c : root.getAsJsonArray("cases")) {
                JsonObject o = c.getAsJsonObject();
                cases.add(Arguments.of(o.get("optimizer").getAsString(), o.get("schedule").getAsString(), o.get("clip").getAsDouble(),
                        o.getAsJsonArray("params")));
            }
            return cases.stream();
        }
    }

    @ParameterizedTest(name = "{0}, {1}, clip {2}")
    @MethodSource("pytorchCases")
    void matchesPyTorch(String optimizer, String scheduleName, double clip, JsonArray expected) {
        float[] p = train(optimizer(optimizer, schedule(scheduleName, baseRate(optimizer))), new int[] {expected.size()}, clip);
        double worst = 0;
        for (int i = 0; i < p.length; i++) {
            worst = Math.max(worst, Math.abs(p[i] - expected.get(i).getAsDouble()));
        }
        assertTrue(worst <= 1e-6, optimizer + " " + scheduleName + ": max |ours - PyTorch| = " + worst);
    }

    static Stream<Arguments> everyOptimizerAndSchedule() {
        List<Arguments> all = new ArrayList<>();
        for (String o : List.of("sgd", "momentum", "nesterov", "adam", "adamw")) {
            for (String s : List.of("constant", "warmup-cosine", "linear-warmup", "step", "multi-step")) {
                all.add(Arguments.of(o, s));
            }
        }
        return all.stream();
    }

    /** Two buckets of 3001 and 1999 floats: tiles of 2048 and the tails after them. */
    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("everyOptimizerAndSchedule")
    void matchesADoublePrecisionReference(String optimizer, String scheduleName) {
        LearningRateSchedule lr = schedule(scheduleName, baseRate(optimizer));
        int[] sizes = {3001, 1999};
        float[] ours = train(optimizer(optimizer, lr), sizes, 0);
        double[] ref = reference(optimizer, lr::rate, 5000);
        double diff = 0;
        double size = 0;
        double worst = 0;
        for (int i = 0; i < ours.length; i++) {
            diff += (ours[i] - ref[i]) * (ours[i] - ref[i]);
            size += ref[i] * ref[i];
            worst = Math.max(worst, Math.abs(ours[i] - ref[i]));
        }
        // element-wise, float32 rounding is amplified where Adam divides a near-zero moment by its
        // square root (up to 2e-6 seen); over the whole vector the error stays at float32's level
        double relative = Math.sqrt(diff / size);
        assertTrue(relative <= 1e-6, optimizer + " " + scheduleName + ": relative L2 error " + relative);
        assertTrue(worst <= 1e-5, optimizer + " " + scheduleName + ": max abs error " + worst);
    }

    /**
     * The formulas as published (PyTorch's documentation), each step computed in doubles and
     * written independently of the fused code; parameters and moments are stored as float32
     * between steps, as every implementation stores them.
     */
    private static double[] reference(String optimizer, LongToDoubleFunction rate, int n) {
        double[] p = new double[n];
        double[] m = new double[n];
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = (float) Math.cos(0.5 * i);
        }
        for (int t = 0; t < STEPS; t++) {
            double lr = rate.applyAsDouble(t);
            for (int i = 0; i < n; i++) {
                double g = (float) Math.sin(0.37 * i + 0.11 * t) + 0.5 * p[i];
                switch (optimizer) {
                    case "sgd" -> p[i] -= lr * g;
                    case "momentum", "nesterov" -> {
                        double wd = optimizer.equals("momentum") ? 0.01 : 0;
                        double d = g + wd * p[i];
                        m[i] = t == 0 ? d : 0.9 * m[i] + d;
                        p[i] -= lr * (optimizer.equals("nesterov") ? d + 0.9 * m[i] : m[i]);
                    }
                    default -> {
                        boolean w = optimizer.equals("adamw");
                        if (w) {
                            // PyTorch multiplies by 1 - lr*wd rounded to the parameter's float32: 50 such
                            // roundings move every parameter the same way (1.2e-6 relative here), so the
                            // reference rounds the factor too and compares the arithmetic around it
                            p[i] *= (float) (1 - lr * 0.05);
                        } else {
                            g += 0.01 * p[i];
                        }
                        m[i] = 0.9 * m[i] + 0.1 * g;
                        v[i] = 0.999 * v[i] + 0.001 * g * g;
                        double mHat = m[i] / (1 - Math.pow(0.9, t + 1));
                        double vHat = v[i] / (1 - Math.pow(0.999, t + 1));
                        p[i] -= lr * mHat / (Math.sqrt(vHat) + 1e-8);
                    }
                }
                p[i] = (float) p[i];
                m[i] = (float) m[i];
                v[i] = (float) v[i];
            }
        }
        return p;
    }

    @Test
    void schedulesFollowTheirDefinitions() {
        LearningRateSchedule wc = LearningRateSchedule.warmupCosine(1.0, 4, 14, 0.1);
        assertEquals(0.25, wc.rate(0), 1e-12, "warm-up starts at lr/W");
        assertEquals(1.0, wc.rate(3), 1e-12);
        assertEquals(1.0, wc.rate(4), 1e-12, "cosine starts at lr");
        assertEquals(0.55, wc.rate(9), 1e-12, "half way: (1 + 0.1) / 2");
        assertEquals(0.1, wc.rate(14), 1e-12);
        assertEquals(0.1, wc.rate(1000), 1e-12, "flat after the end");
        assertEquals(0.25, LearningRateSchedule.stepDecay(1, 10, 0.5).rate(25), 1e-12);
        assertEquals(0.09, LearningRateSchedule.multiStep(1, new long[] {5, 2}, 0.3).rate(5), 1e-12);
        assertEquals(0.5, LearningRateSchedule.fromTracker(ai.djl.training.tracker.Tracker.fixed(0.5f)).rate(7), 1e-12);
    }

    @Test
    void badSettingsSayWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.constant(0)).getMessage()
                .contains("learning rate must be a positive number"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.warmupCosine(0.1, 100, 50, 0)).getMessage()
                .contains("does not fit in a run of 50 steps"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(LearningRateSchedule.constant(1), 0, 0, true, 0))
                .getMessage().contains("Nesterov"));
        assertThrows(IllegalArgumentException.class, () -> Adam.adam(LearningRateSchedule.constant(1), 1.0, 0.999, 1e-8, 0));
    }

    @Test
    void stateCountsItsBytes() {
        assertEquals(2L * 5000 * Float.BYTES, Adam.adam(LearningRateSchedule.constant(1), 0.9, 0.999, 1e-8, 0).newState(new int[] {3001, 1999}).bytes());
        assertEquals(0, Sgd.plain(LearningRateSchedule.constant(1)).newState(new int[] {10}).bytes());
    }
}
