package dev.trainyard.launcher;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.trainyard.collectives.DataType;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.train.Checkpoints;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.NonFinitePolicy;
import dev.trainyard.runtime.train.TrainingLoop;
import ai.djl.metric.Metrics;
import dev.trainyard.runtime.train.DjlStepMetrics;
import dev.trainyard.runtime.train.StepPhasesLogger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.StringJoiner;

/**
 * Deterministic data-parallel training for the trainer's tests: a small MLP (cut into 3 stages,
 * tiny buckets so there are several) trained with plain SGD on seeded synthetic data. Every rank
 * prints {@code step S digest D} after each step; rank 0 writes all parameters to {@code --out}.
 * Arguments: --batch B --epochs E --samples N [--lr L] [--accumulate K] [--no-overlap] [--fp16] [--copy-gradients] [--checkpoint-every C]
 * [--optimizer adam|adamw] (Trainyard's fused Adam or AdamW, warm-up then cosine over the run, clipping at norm 1, instead of DJL's SGD)
 * [--zero] (optimizer state sharded over the ranks: ZeRO-1). At the end rank 0 prints the CRC32 of the optimizer state, gathered.
 * [--step-delay-ms T] [--poison-rank R --poison-step S [--fail-on-nonfinite]] [--out FILE]
 */
public final class TrainingWorker {
    private TrainingWorker() {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = List.of(args);
        int batch = Integer.parseInt(value(a, "--batch", "8"));
        int epochs = Integer.parseInt(value(a, "--epochs", "2"));
        int samples = Integer.parseInt(value(a, "--samples", "256"));
        int checkpointEvery = Integer.parseInt(value(a, "--checkpoint-every", "0"));
        long stepDelayMs = Long.parseLong(value(a, "--step-delay-ms", "0"));
        int accumulate = Integer.parseInt(value(a, "--accumulate", "1"));
        float lr = Float.parseFloat(value(a, "--lr", "0.2"));
        int poisonRank = Integer.parseInt(value(a, "--poison-rank", "-1"));
        int poisonStep = Integer.parseInt(value(a, "--poison-step", "-1"));
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        try (ProcessGroup pg = Trainyard.init(); Model model = Model.newInstance("parity")) {
            System.out.println("ready rank " + pg.rank() + " pid " + ProcessHandle.current().pid() + " restart " + pg.restartCount());
            Engine.getInstance().setRandomSeed(1234);
            boolean[] poison = {false};
            model.setBlock(new SequentialBlock()
                    .add(Linear.builder().setUnits(48).build())
                    .add(x -> poison[0] ? new NDList(x.head().mul(Float.NaN)) : x) // NaN gradients on demand
                    .add(Activation::tanh)
                    .add(Linear.builder().setUnits(32).build()).add(Activation::tanh)
                    .add(Linear.builder().setUnits(5).build()));
            NDManager manager = model.getNDManager();
            float[] x = new float[samples * 24];
            float[] y = new float[samples];
            SplittableRandom r = new SplittableRandom(99);
            for (int i = 0; i < samples; i++) {
                y[i] = r.nextInt(5);
                for (int j = 0; j < 24; j++) {
                    x[i * 24 + j] = (float) (r.nextGaussian() + (j % 5 == y[i] ? 1.5 : 0));
                }
            }
            DistributedSampler sampler = new DistributedSampler(batch, pg.rank(), pg.worldSize(), 5, true, DistributedSampler.Uneven.DROP);
            ArrayDataset data = new ArrayDataset.Builder().setData(manager.create(x, new Shape(samples, 24)))
                    .optLabels(manager.create(y)).setSampling(sampler).build();
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(lr)).build())
                    .addTrainingListeners(new StepPhasesLogger()); // gives the trainer DJL Metrics, logs each epoch
            DistributedOptions options = DistributedOptions.defaults().withOverlap(!a.contains("--no-overlap")).withStages(3)
                    .withBucketBytes(4096).withFirstBucketBytes(4096).withCompression(a.contains("--fp16") ? DataType.FLOAT16 : DataType.FLOAT32)
                    .withAccumulationSteps(accumulate).withGradientAsBucketView(!a.contains("--copy-gradients"))
                    .withNonFinitePolicy(a.contains("--fail-on-nonfinite") ? NonFinitePolicy.FAIL : NonFinitePolicy.SKIP_STEP);
            String optimizer = value(a, "--optimizer", "djl-sgd");
            if (!optimizer.equals("djl-sgd")) {
                long total = (long) epochs * (samples / (batch * pg.worldSize())) / accumulate;
                LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(0.01, total / 4, total, 0.1);
                options = options.withOptimizer(optimizer.equals("adamw") ? Adam.adamW(schedule, 0.9, 0.999, 1e-8, 0.01)
                        : Adam.adam(schedule, 0.9, 0.999, 1e-8, 0.001)).withGradientClipping(1.0).withShardedOptimizer(a.contains("--zero"));
            }
            try (DistributedTrainer trainer = new DistributedTrainer(model, config, pg, options)) {
                trainer.initialize(new Shape(1, 24));
                trainer.setMetrics(new Metrics()); // the application's own: kept whole, StepPhasesLogger only reads it
                TrainingLoop loop = new TrainingLoop(trainer, data, sampler).epochs(epochs)
                        .onStep(s -> {
                            System.out.printf("step %d digest %016x%n", s.step(), trainer.parameterDigest());
                            poison[0] = pg.rank() == poisonRank && s.step() + 1 == poisonStep;
                            sleep(stepDelayMs); // gives the kill-and-restart test time to strike mid-run
                        });
                if (checkpointEvery > 0) {
                    loop.checkpoints(new Checkpoints(pg.context().runDir().resolve("checkpoints"), 2, System.out::println), checkpointEvery);
                }
                loop.run();
                if (pg.rank() == 0 && a.contains("--out")) {
                    StringJoiner out = new StringJoiner("\n");
                    for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                        for (float v : p.getValue().getArray().toFloatArray()) {
                            out.add(Float.toString(v));
                        }
                    }
                    Files.writeString(Path.of(value(a, "--out", "")), out.toString());
                }
                var state = trainer.optimizerStateForCheckpoint(); // a collective with --zero: every rank calls it
                if (state != null && pg.rank() == 0) {
                    System.out.printf("final optimizer state crc32 %x%n", state.crc32());
                }
                System.out.printf("final digest %016x after %d steps%n", trainer.parameterDigest(), trainer.stepCount());
                for (String name : List.of(DjlStepMetrics.EXPOSED_COMMUNICATION, DjlStepMetrics.BACKWARD, DjlStepMetrics.BYTES_ALL_REDUCED)) {
                    if (trainer.getMetrics().hasMetric(name)) {
                        System.out.printf("djl metric %s: %d values, mean %.1f %s%n", name, trainer.getMetrics().getMetric(name).size(),
                                trainer.getMetrics().mean(name), trainer.getMetrics().latestMetric(name).getUnit().getValue());
                    }
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String value(List<String> a, String name, String fallback) {
        int i = a.indexOf(name);
        return i < 0 ? fallback : a.get(i + 1);
    }
}
