package dev.trainyard.bench;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.PeakMemory;
import dev.trainyard.runtime.train.StepMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One worker of the training-throughput benchmark: the example model, SGD or Adam, batches sliced from an
 * in-memory random tensor (the same data path as the PyTorch DDP peer, so the comparison measures
 * training, not data loading). {@code --mode trainyard} runs under the launcher with a
 * DistributedTrainer; {@code --mode djl} is a plain DJL Trainer in one process, the baseline.
 * Rank 0 prints {@code RESULT samples_per_s step_s data_wait_s forward_s backward_s exposed_comm_s optimizer_s comm_s
 * optimizer_state_bytes peak_rss_bytes} (the last two of rank 0; state 0 where DJL's optimizer keeps it out of reach).
 * Arguments: --mode M --model mlp|mlp-wide|cnn|resnet|gpt --batch B --steps S --warmup W --threads T --optimizer sgd|adam [--no-overlap] [--zero]
 * [--collective-thread]
 * [--first-bucket-bytes N] [--stages N]
 * [--start-together DIR N]: the timed steps start once N processes (the ceiling row's independent
 * plain-DJL processes) have finished their warm-up, so they really run at the same time.
 */
public final class ScalingWorker {
    private static final int DATA_SAMPLES = 8192;

    private ScalingWorker() {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = List.of(args);
        String mode = value(a, "--mode", "trainyard");
        String kind = value(a, "--model", "mlp");
        int batch = Integer.parseInt(value(a, "--batch", "64"));
        int steps = Integer.parseInt(value(a, "--steps", "200"));
        int warmup = Integer.parseInt(value(a, "--warmup", "30"));
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("ai.djl.pytorch.num_threads", value(a, "--threads", "1"));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        boolean distributed = mode.equals("trainyard");
        try (ProcessGroup pg = distributed ? Trainyard.init() : null; Model model = Model.newInstance("bench")) {
            Engine.getInstance().setRandomSeed(1);
            model.setBlock(BenchModels.build(kind));
            int rank = distributed ? pg.rank() : 0;
            int world = distributed ? pg.worldSize() : 1;
            DefaultTrainingConfig config = new DefaultTrainingConfig(BenchModels.loss(kind))
                    .optOptimizer(optimizer(value(a, "--optimizer", "adam")));
            try (Trainer trainer = distributed
                    ? new DistributedTrainer(model, config, pg, options(a))
                    : model.newTrainer(config)) {
                trainer.initialize(BenchModels.inputShape(kind));
                NDManager manager = trainer.getManager();
                NDArray[] data = BenchModels.data(manager, kind, DATA_SAMPLES);
                NDArray x = data[0];
                NDArray y = data[1];
                double[] sums = new double[7];
                long t0 = 0;
                for (int s = 0; s < warmup + steps; s++) {
                    if (s == warmup) {
                        if (distributed) {
                            pg.communicator().barrier();
                        }
                        if (a.contains("--start-together")) {
                            int at = a.indexOf("--start-together");
                            startTogether(Path.of(a.get(at + 1)), Integer.parseInt(a.get(at + 2)));
                        }
                        t0 = System.nanoTime();
                    }
                    int from = (int) (((long) s * batch * world + (long) rank * batch) % (DATA_SAMPLES - batch));
                    try (NDManager stepScope = manager.newSubManager()) {
                        NDArray xb = x.get(new NDIndex(from + ":" + (from + batch)));
                        NDArray yb = y.get(new NDIndex(from + ":" + (from + batch)));
                        xb.attach(stepScope);
                        yb.attach(stepScope);
                        try (GradientCollector gc = trainer.newGradientCollector()) {
                            NDList labels = new NDList(yb);
                            NDList preds = trainer.forward(new NDList(xb), labels);
                            gc.backward(trainer.getLoss().evaluate(labels, preds));
                        }
                        trainer.step();
                    }
                    if (s >= warmup && trainer instanceof DistributedTrainer dt) {
                        StepMetrics m = dt.lastStep();
                        sums[1] += m.dataWait();
                        sums[2] += m.forward();
                        sums[3] += m.backward();
                        sums[4] += m.exposedComm();
                        sums[5] += m.optimizer();
                        sums[6] += m.comm();
                    }
                }
                if (distributed) {
                    pg.communicator().barrier();
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (rank == 0) {
                    long stateBytes = trainer instanceof DistributedTrainer dt ? dt.optimizerStateBytes() : 0;
                    System.out.printf(Locale.ROOT, "RESULT %.3f %.6f %.6f %.6f %.6f %.6f %.6f %.6f %d %d%n", (double) steps * batch * world / seconds,
                            seconds / steps, sums[1] / steps, sums[2] / steps, sums[3] / steps, sums[4] / steps, sums[5] / steps, sums[6] / steps,
                            stateBytes, PeakMemory.peakRssBytes());
                }
            }
        }
    }

    private static DistributedOptions options(List<String> a) {
        DistributedOptions o = DistributedOptions.defaults().withOverlap(!a.contains("--no-overlap")).withShardedOptimizer(a.contains("--zero"))
                .withLastBucketOnCallerThread(!a.contains("--collective-thread"));
        String stages = value(a, "--stages", null);
        if (stages != null) {
            o = o.withStages(Integer.parseInt(stages));
        }
        String first = value(a, "--first-bucket-bytes", null);
        return first == null ? o : o.withFirstBucketBytes(Long.parseLong(first));
    }

    /** The same optimizers and rates as the PyTorch DDP peer: Adam at 1e-3, plain SGD at 1e-2. */
    static Optimizer optimizer(String name) {
        return switch (name) {
            case "adam" -> Optimizer.adam().optLearningRateTracker(Tracker.fixed(0.001f)).build();
            case "sgd" -> Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).build();
            default -> throw new IllegalArgumentException("--optimizer takes sgd or adam, got '" + name + "'");
        };
    }

    /** Marks this process ready in {@code dir} and waits until {@code n} processes are (a barrier without a network). */
    private static void startTogether(Path dir, int n) throws IOException, InterruptedException {
        // watch before announcing: a file created after the count below still wakes this process
        try (WatchService watch = dir.getFileSystem().newWatchService()) {
            dir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
            Files.createFile(dir.resolve("ready-" + ProcessHandle.current().pid()));
            long deadline = System.nanoTime() + 600_000_000_000L;
            while (true) {
                long ready;
                try (var files = Files.list(dir)) {
                    ready = files.count();
                }
                if (ready >= n) {
                    return;
                }
                WatchKey key = watch.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (key == null) {
                    throw new IOException("only " + ready + " of " + n + " processes finished their warm-up within 10 minutes (" + dir + ")");
                }
                key.pollEvents();
                key.reset();
            }
        }
    }

    private static String value(List<String> a, String name, String fallback) {
        int i = a.indexOf(name);
        return i < 0 ? fallback : a.get(i + 1);
    }
}
