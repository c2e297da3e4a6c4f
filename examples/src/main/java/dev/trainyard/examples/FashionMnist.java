package dev.trainyard.examples;

import dev.trainyard.runtime.RunLayout;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.translate.TranslateException;
import dev.trainyard.collectives.DataType;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.RunEvents;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.FusedOptimizer;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.optim.Sgd;
import dev.trainyard.runtime.train.Checkpoints;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.TrainingLoop;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Fashion-MNIST, data-parallel: {@code ./trainyard launch --nproc-per-node 2 --example fashion-mnist -- --epochs 2}.
 * Checkpoints into the run directory and resumes from it after a launcher restart.
 */
@Command(name = "fashion-mnist", mixinStandardHelpOptions = true, description = "Train an MLP, a CNN or a ResNet on Fashion-MNIST")
public final class FashionMnist implements Callable<Integer> {
    @Option(names = "--epochs", defaultValue = "2")
    int epochs;
    @Option(names = "--model", defaultValue = "mlp", description = "mlp, mlp-wide (20 M parameters), cnn or resnet (ResNet-18's layout at a quarter of its width: 0.70 M parameters)")
    String model;
    @Option(names = "--batch-size", defaultValue = "64", description = "per rank")
    int batchSize;
    @Option(names = "--data", description = "directory of the IDX files (default: ${DEFAULT-VALUE})")
    Path data;
    @Option(names = "--optimizer", defaultValue = "adam", description = "sgd, momentum (0.9), adam or adamw (Trainyard's fused optimizers)")
    String optimizer;
    @Option(names = "--lr", description = "peak learning rate (default: 0.05 for sgd and momentum, 0.001 for adam and adamw)")
    Double lr;
    @Option(names = "--lr-schedule", defaultValue = "constant", description = "constant or warmup-cosine (linear warm-up, then cosine to 0 at the end of the run)")
    String lrSchedule;
    @Option(names = "--warmup-steps", defaultValue = "0", description = "warm-up steps of warmup-cosine (0: 5% of the run)")
    long warmupSteps;
    @Option(names = "--weight-decay", description = "L2 for sgd, momentum and adam, decoupled for adamw (default: 0, adamw 0.01)")
    Double weightDecay;
    @Option(names = "--clip-norm", defaultValue = "0", description = "clip gradients to this global L2 norm (0: off)")
    double clipNorm;
    @Option(names = "--zero", defaultValue = "0", description = "1: shard the optimizer state over the workers (ZeRO-1); 0: every worker holds all of it")
    int zero;
    @Option(names = "--seed", defaultValue = "7")
    long seed;
    @Option(names = "--no-overlap", description = "all-reduce after the whole backward instead of stage by stage")
    boolean noOverlap;
    @Option(names = "--compression", defaultValue = "none", description = "none, fp16 or bf16")
    String compression;
    @Option(names = "--checkpoint-every", defaultValue = "500", description = "steps between checkpoints (and at each epoch end)")
    int checkpointEvery;
    @Option(names = "--on-incompatible-checkpoint", defaultValue = "previous",
            description = "when the newest checkpoint is of another model or optimizer: previous (try the older ones) or fresh (start over)")
    String onIncompatible;
    @Option(names = "--limit", defaultValue = "60000", description = "use at most this many training samples")
    int limit;
    @Option(names = "--threads", description = "PyTorch intra-op threads per worker (default: cores / workers on this node)")
    Integer threads;

    public static void main(String[] args) {
        ExampleCli.run(new FashionMnist(), args);
    }

    /** Checks what picocli cannot before anything starts: bad values end the run with one line and exit 2. */
    private void validate(CommandLine.Model.CommandSpec spec) {
        if (!java.util.Set.of("sgd", "momentum", "adam", "adamw").contains(optimizer)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "unknown --optimizer '" + optimizer + "'; choose sgd, momentum, adam or adamw");
        }
        if (!lrSchedule.equals("constant") && !lrSchedule.equals("warmup-cosine")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "unknown --lr-schedule '" + lrSchedule + "'; choose constant or warmup-cosine");
        }
        if (!onIncompatible.equals("previous") && !onIncompatible.equals("fresh")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "unknown --on-incompatible-checkpoint '" + onIncompatible
                    + "'; choose previous or fresh");
        }
        if (lr != null && !(lr > 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--lr must be a positive number, got " + lr);
        }
        try {
            wire(compression);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (zero != 0 && zero != 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--zero takes 0 (off) or 1 (ZeRO-1: optimizer state sharded), got " + zero);
        }
        if (weightDecay != null && !(weightDecay >= 0) || !(clipNorm >= 0) || warmupSteps < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--weight-decay, --clip-norm and --warmup-steps must not be negative");
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** The fused optimizer the flags describe, its schedule spread over {@code totalSteps}. */
    private FusedOptimizer fusedOptimizer(long totalSteps) {
        double rate = lr != null ? lr : optimizer.startsWith("adam") ? 0.001 : 0.05;
        LearningRateSchedule schedule;
        if (lrSchedule.equals("warmup-cosine")) {
            long warmup = warmupSteps > 0 ? warmupSteps : Math.max(1, totalSteps / 20);
            if (warmup >= totalSteps) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--warmup-steps " + warmup + " is not shorter than the run ("
                        + totalSteps + " steps); use fewer warm-up steps or more --epochs");
            }
            schedule = LearningRateSchedule.warmupCosine(rate, warmup, totalSteps, 0);
        } else {
            schedule = LearningRateSchedule.constant(rate);
        }
        double wd = weightDecay != null ? weightDecay : optimizer.equals("adamw") ? 0.01 : 0;
        return switch (optimizer) {
            case "sgd" -> new Sgd(schedule, 0, 0, false, wd);
            case "momentum" -> new Sgd(schedule, 0.9, 0, false, wd);
            case "adam" -> Adam.adam(schedule, 0.9, 0.999, 1e-8, wd);
            default -> Adam.adamW(schedule, 0.9, 0.999, 1e-8, wd);
        };
    }

    @Override
    public Integer call() throws IOException, TranslateException {
        validate(spec);
        try (ProcessGroup pg = Trainyard.init()) {
            ComputeThreads.configure(pg, threads);
            FashionMnistData trainSet;
            try {
                trainSet = loadData(true, pg.rank());
            } catch (IllegalArgumentException e) { // a --data directory without the files: one line, exit 2
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            RunEvents.dataset(trainSet.synthetic() ? "synthetic, Fashion-MNIST's shape" : "Fashion-MNIST", trainSet.count(), trainSet.synthetic());
            FashionMnistData testSet = loadData(false, pg.rank());
            ExecutorService prefetch = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "fashion-mnist-prefetch");
                t.setDaemon(true);
                return t;
            });
            try (Model m = Model.newInstance("fashion-mnist-" + model)) {
                m.setBlock(Models.build(model));
                NDManager manager = m.getNDManager();
                DistributedSampler sampler = new DistributedSampler(batchSize, pg.rank(), pg.worldSize(), seed, true, DistributedSampler.Uneven.PAD);
                ArrayDataset train = trainSet.toDataset(manager, Models.inputShape(model).slice(1)).setSampling(sampler).optPrefetchNumber(4).build();
                ArrayDataset test = testSet.toDataset(manager, Models.inputShape(model).slice(1)).setSampling(1000, false).build();
                DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss()).optExecutorService(prefetch);
                long totalSteps = (long) epochs * sampler.batchesPerEpoch(train.size());
                DistributedOptions options = DistributedOptions.defaults().withOverlap(!noOverlap).withCompression(wire(compression))
                        .withOptimizer(fusedOptimizer(totalSteps)).withGradientClipping(clipNorm).withShardedOptimizer(zero == 1);
                try (DistributedTrainer trainer = new DistributedTrainer(m, config, pg, options)) {
                    trainer.initialize(Models.inputShape(model));
                    TrainingLoop loop = new TrainingLoop(trainer, train, sampler).epochs(epochs).onEpoch((epoch, seconds, samples) -> {
                        double accuracy = accuracy(trainer, test, manager);
                        if (pg.rank() == 0) {
                            RunEvents.metric("accuracy", accuracy); // the run report's time to target accuracy
                            System.out.printf(Locale.ROOT, "epoch %d/%d test accuracy %.3f%s (samples/s %.0f)%n", epoch + 1, epochs,
                                    accuracy, trainSet.synthetic() ? " on synthetic data" : "", samples * pg.worldSize() / seconds);
                        }
                    });
                    if (!pg.context().standalone()) {
                        loop.checkpoints(new Checkpoints(RunLayout.checkpoints(pg.context().runDir()), 3,
                                line -> System.out.println("rank " + pg.rank() + ": " + line),
                                onIncompatible.equals("fresh") ? Checkpoints.Incompatible.FRESH : Checkpoints.Incompatible.PREVIOUS), checkpointEvery);
                    }
                    loop.run();
                    if (pg.rank() == 0) {
                        // CRC32 of all parameters in name order: runs can be compared from outside
                        System.out.printf("final parameter digest %08x%n", trainer.parameterDigest());
                    }
                }
            } finally {
                prefetch.shutdownNow();
            }
        }
        return 0;
    }

    private FashionMnistData loadData(boolean train, int rank) throws IOException {
        Path dir = data != null ? data : FashionMnistData.defaultDir();
        if (FashionMnistData.present(dir)) {
            return FashionMnistData.load(dir, train, train ? limit : Integer.MAX_VALUE);
        }
        if (data != null) {
            throw new IllegalArgumentException("--data " + data + " does not hold the Fashion-MNIST IDX files "
                    + "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...)");
        }
        if (rank == 0 && train) {
            System.out.println("Fashion-MNIST not found in " + dir + ": install it with 'apt-get install dataset-fashion-mnist' "
                    + "or pass --data DIR; training on a synthetic set of the same shape instead");
        }
        return FashionMnistData.synthetic(train ? Math.min(limit, 60000) : 10000, train ? 1 : 2);
    }

    /** Share of test samples whose highest-scoring class is the label. */
    private static double accuracy(DistributedTrainer trainer, ArrayDataset test, NDManager manager) throws IOException, TranslateException {
        long correct = 0;
        long total = 0;
        for (Batch b : test.getData(manager)) {
            NDList pred = trainer.evaluate(b.getData());
            NDArray hits = pred.head().argMax(1).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).eq(b.getLabels().head());
            correct += hits.sum().getLong();
            total += b.getSize();
            b.close();
        }
        return (double) correct / total;
    }

    private static DataType wire(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "none", "fp32" -> DataType.FLOAT32;
            case "fp16" -> DataType.FLOAT16;
            case "bf16" -> DataType.BFLOAT16;
            default -> throw new IllegalArgumentException("unknown --compression '" + name + "'; choose none, fp16 or bf16");
        };
    }
}
