package dev.trainyard.bench;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.trainyard.examples.Models;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.FusedOptimizer;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.optim.OptimizerState;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One Adam update of a model's parameters, four ways, in one JVM on one thread: Trainyard's fused
 * pass (heap tiles that C2 vectorizes), the same formulas element by element over the direct
 * buffers (what C2 does not vectorize), one native op per bucket (DJL's fused {@code adamUpdate}
 * kernel on the flat tensors, which clones the gradient and places epsilon DJL's way), and DJL's
 * own path (its Adam, parameter by parameter, each gradient duplicated first as DJL's
 * parameter server does).
 */
@Command(name = "optimizer", mixinStandardHelpOptions = true, description = "Adam update time per step: fused Java tiles, element loop, native op per bucket, DJL per parameter.")
public final class OptimizerBenchmark implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "mlp", description = "mlp, mlp-wide or cnn: whose parameters (default: ${DEFAULT-VALUE})")
    String model;
    @Option(names = "--steps", defaultValue = "2000", description = "updates timed per way and repeat (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--repeat", defaultValue = "5", description = "rounds over the four ways; medians are reported (default: ${DEFAULT-VALUE})")
    int repeat;
    @Option(names = "--json", description = "write the results as JSON here")
    Path json;

    public static void main(String[] args) {
        BenchCli.run(new OptimizerBenchmark(), args);
    }

    private static final String[] WAYS = {"trainyard fused (heap tiles)", "element loop over direct buffers", "native op per bucket (DJL adamUpdate)",
        "DJL Adam per parameter"};

    @Override
    public Integer call() throws Exception {
        if (steps < 1 || repeat < 1) {
            throw new IllegalArgumentException("--steps and --repeat must be at least 1");
        }
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        try (Model m = Model.newInstance("optimizer-bench")) {
            m.setBlock(Models.build(model));
            Block block = m.getBlock();
            block.initialize(m.getNDManager(), DataType.FLOAT32, Models.inputShape(model));
            List<NDArray> weights = new ArrayList<>();
            for (Parameter p : block.getParameters().values()) {
                weights.add(p.getArray());
            }
            int floats = weights.stream().mapToInt(w -> (int) w.size()).sum();
            NDManager mgr = m.getNDManager();
            ByteBuffer paramBytes = directBytes(floats);
            ByteBuffer gradBytes = directBytes(floats);
            FloatBuffer params = paramBytes.asFloatBuffer();
            FloatBuffer grads = gradBytes.asFloatBuffer();
            for (int i = 0; i < floats; i++) {
                params.put(i, (float) Math.sin(i));
            }
            FusedOptimizer fused = Adam.adam(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0);
            OptimizerState state = fused.newState(new int[] {floats});
            float[] m1 = new float[floats];
            float[] v1 = new float[floats];
            ai.djl.ndarray.types.Shape flat = new ai.djl.ndarray.types.Shape(floats);
            NDArray pT = mgr.create(paramBytes, flat, DataType.FLOAT32);
            NDArray gT = mgr.create(gradBytes, flat, DataType.FLOAT32);
            NDArray mT = mgr.create(directBytes(floats), flat, DataType.FLOAT32);
            NDArray vT = mgr.create(directBytes(floats), flat, DataType.FLOAT32);
            Optimizer djl = Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build();
            List<NDArray> djlGrads = new ArrayList<>();
            for (NDArray w : weights) {
                djlGrads.add(w.onesLike().muli(1e-3f));
            }
            double[][] micros = new double[WAYS.length][repeat];
            for (int r = 0; r < repeat; r++) {
                for (int way = 0; way < WAYS.length; way++) {
                    long t0 = System.nanoTime();
                    for (int s = 0; s < steps; s++) {
                        switch (way) {
                            case 0 -> {
                                refill(grads, s);
                                fused.step(new FloatBuffer[] {params}, new FloatBuffer[] {grads}, state, 1f);
                            }
                            case 1 -> {
                                refill(grads, s);
                                elementLoop(params, grads, m1, v1, s + 1);
                            }
                            case 2 -> {
                                refill(grads, s);
                                JniUtils.adamUpdate((PtNDArray) pT, (PtNDArray) gT, (PtNDArray) mT, (PtNDArray) vT, 1e-3f,
                                        (float) (1e-3 * Math.sqrt(1 - Math.pow(0.999, s + 1)) / (1 - Math.pow(0.9, s + 1))), 0f, 1f, -1f, 0.9f, 0.999f, 1e-8f, false);
                            }
                            default -> {
                                for (int i = 0; i < weights.size(); i++) {
                                    try (NDArray g = djlGrads.get(i).duplicate()) {
                                        djl.update("p" + i, weights.get(i), g);
                                    }
                                }
                            }
                        }
                    }
                    micros[way][r] = (System.nanoTime() - t0) / 1e3 / steps;
                }
            }
            System.out.printf(Locale.ROOT, "# Adam update of the %s's %,d parameters (%d tensors), one thread, %d updates per repeat, median of %d, %d cores%n",
                    model, floats, weights.size(), steps, repeat, Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "%-40s %12s %14s%n", "way", "us/update", "each repeat");
            StringBuilder js = new StringBuilder(String.format(Locale.ROOT, "{\"benchmark\":\"optimizer\",\"optimizer\":\"adam\",\"model\":\"%s\",\"floats\":%d,"
                    + "\"tensors\":%d,\"steps\":%d,\"repeats\":%d,\"rows\":[", model, floats, weights.size(), steps, repeat));
            for (int way = 0; way < WAYS.length; way++) {
                double med = median(micros[way]);
                System.out.printf(Locale.ROOT, "%-40s %12.1f   %s%n", WAYS[way], med, Arrays.toString(Arrays.stream(micros[way]).mapToLong(Math::round).toArray()));
                js.append(way == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"way\":\"%s\",\"us_per_update\":%.3f}", WAYS[way], med));
            }
            System.out.printf(Locale.ROOT, "# each includes writing the gradients (a pass over them), except DJL's, whose gradients are fixed%n");
            if (json != null) {
                if (json.getParent() != null) {
                    Files.createDirectories(json.getParent());
                }
                Files.writeString(json, js.append("]}\n").toString(), StandardCharsets.UTF_8);
                System.out.println("# wrote " + json);
            }
        }
        return 0;
    }

    /** New gradients each update, as backward would leave them (and the fused pass zeroes them). */
    private static void refill(FloatBuffer g, int step) {
        float v = 1e-3f * (1 + (step & 7));
        for (int off = 0; off < g.capacity(); off += TILE.length) {
            int n = Math.min(TILE.length, g.capacity() - off);
            Arrays.fill(TILE, 0, n, v);
            g.put(off, TILE, 0, n);
        }
    }

    private static final float[] TILE = new float[2048];

    /** PyTorch's Adam, element by element over the direct buffers: the loop C2 leaves scalar. */
    private static void elementLoop(FloatBuffer p, FloatBuffer g, float[] m, float[] v, long t) {
        float step = (float) (1e-3 / (1 - Math.pow(0.9, t)));
        float c2 = (float) Math.sqrt(1 - Math.pow(0.999, t));
        for (int i = 0; i < m.length; i++) {
            float gi = g.get(i);
            float mi = m[i] * 0.9f + 0.1f * gi;
            float vi = v[i] * 0.999f + 0.001f * gi * gi;
            m[i] = mi;
            v[i] = vi;
            p.put(i, p.get(i) - step * mi / ((float) Math.sqrt(vi) / c2 + 1e-8f));
            g.put(i, 0f);
        }
    }

    private static ByteBuffer directBytes(int floats) {
        return ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.nativeOrder());
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
