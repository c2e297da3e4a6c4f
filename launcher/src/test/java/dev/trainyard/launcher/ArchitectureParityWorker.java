package dev.trainyard.launcher;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.Pair;
import dev.trainyard.examples.Models;
import dev.trainyard.examples.gpt.Gpt;
import dev.trainyard.examples.gpt.NextTokenLoss;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.TrainingLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.StringJoiner;

/**
 * The example architectures, shrunk, trained a few SGD steps on seeded synthetic data, one after
 * another in one worker JVM (a JVM start per model would cost the suite seconds each):
 * <ul>
 * <li>{@code resnet}: the example's ResNet-18 layout at width 8 on 1x28x28 images, with batch norm,
 *     whose running statistics the ranks must agree on;
 * <li>{@code gpt}: the GPT decoder, 2 layers of width 16 over 12-token windows of 8.
 * </ul>
 * Each model is trained with overlap on ({@code <model>}) and, where asked, off ({@code <model>-no-overlap}).
 * Every rank prints {@code <run> step S digest D}; rank 0 writes the trained parameters to
 * {@code --out DIR/<run>.params}. Arguments: --batch B --models a,b,c [--no-overlap-too] --out DIR
 */
public final class ArchitectureParityWorker {
    private static final int SAMPLES = 64;
    private static final int EPOCHS = 2;

    private ArchitectureParityWorker() {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = List.of(args);
        int batch = Integer.parseInt(a.get(a.indexOf("--batch") + 1));
        Path out = Path.of(a.get(a.indexOf("--out") + 1));
        System.setProperty("ai.djl.pytorch.num_threads", "1");
        try (ProcessGroup pg = Trainyard.init()) {
            for (String model : a.get(a.indexOf("--models") + 1).split(",")) {
                train(pg, model, model, true, batch, out);
                if (a.contains("--no-overlap-too")) {
                    train(pg, model, model + "-no-overlap", false, batch, out);
                }
            }
        }
    }

    private static void train(ProcessGroup pg, String kind, String run, boolean overlap, int batch, Path out) throws Exception {
        Engine.getInstance().setRandomSeed(1234);
        try (Model model = Model.newInstance(run)) {
            boolean gpt = kind.equals("gpt");
            model.setBlock(build(kind));
            NDManager manager = model.getNDManager();
            DistributedSampler sampler = new DistributedSampler(batch, pg.rank(), pg.worldSize(), 5, true, DistributedSampler.Uneven.DROP);
            ArrayDataset data = (gpt ? tokens(manager) : images(manager)).setSampling(sampler).build();
            Loss loss = gpt ? new NextTokenLoss() : Loss.softmaxCrossEntropyLoss();
            DefaultTrainingConfig config = new DefaultTrainingConfig(loss)
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(gpt ? 0.1f : 0.01f)).build());
            // small buckets, so these small models are cut into stages whose all-reduces overlap backward
            DistributedOptions options = DistributedOptions.defaults().withOverlap(overlap).withStages(4)
                    .withBucketBytes(4096).withFirstBucketBytes(4096);
            try (DistributedTrainer trainer = new DistributedTrainer(model, config, pg, options)) {
                trainer.initialize(gpt ? new Shape(1, 8) : new Shape(1, 1, 28, 28));
                new TrainingLoop(trainer, data, sampler).epochs(EPOCHS)
                        .onStep(s -> System.out.printf("%s step %d digest %016x%n", run, s.step(), trainer.parameterDigest())).run();
            }
            if (pg.rank() == 0) {
                StringJoiner values = new StringJoiner("\n");
                for (Pair<String, Parameter> p : model.getBlock().getParameters()) {
                    if (p.getValue().requiresGradient()) { // trained values; batch norm's statistics are compared through the digests
                        for (float v : p.getValue().getArray().toFloatArray()) {
                            values.add(Float.toString(v));
                        }
                    }
                }
                Files.writeString(out.resolve(run + ".params"), values.toString());
            }
        }
    }

    private static Block build(String kind) {
        return switch (kind) {
            case "resnet" -> Models.resnet(8);
            case "gpt" -> new Gpt(12, 8, 16, 2, 2);
            default -> throw new IllegalArgumentException("unknown model " + kind);
        };
    }

    /** Images whose class shows as a brighter row. */
    private static ArrayDataset.Builder images(NDManager manager) {
        SplittableRandom r = new SplittableRandom(99);
        float[] x = new float[SAMPLES * 784];
        float[] y = new float[SAMPLES];
        for (int i = 0; i < SAMPLES; i++) {
            y[i] = r.nextInt(10);
            for (int j = 0; j < 784; j++) {
                x[i * 784 + j] = (float) (r.nextGaussian() * 0.5 + (j / 28 == (int) y[i] ? 1 : 0));
            }
        }
        return new ArrayDataset.Builder().setData(manager.create(x, new Shape(SAMPLES, 1, 28, 28))).optLabels(manager.create(y));
    }

    /** Token sequences that count up by a random step (mod 12): the next token is predictable from the two before it. */
    private static ArrayDataset.Builder tokens(NDManager manager) {
        SplittableRandom r = new SplittableRandom(98);
        long[] x = new long[SAMPLES * 8];
        long[] y = new long[SAMPLES * 8];
        for (int i = 0; i < SAMPLES; i++) {
            long t = r.nextInt(12);
            long step = 1 + r.nextInt(3);
            for (int j = 0; j < 8; j++) {
                x[i * 8 + j] = t;
                t = (t + step) % 12;
                y[i * 8 + j] = t;
            }
        }
        return new ArrayDataset.Builder().setData(manager.create(x, new Shape(SAMPLES, 8))).optLabels(manager.create(y, new Shape(SAMPLES, 8)));
    }
}
