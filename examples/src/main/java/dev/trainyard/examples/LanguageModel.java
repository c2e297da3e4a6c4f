package dev.trainyard.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.translate.TranslateException;
import dev.trainyard.examples.gpt.Gpt;
import dev.trainyard.examples.gpt.NextTokenLoss;
import dev.trainyard.examples.gpt.TextCorpus;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.RunEvents;
import dev.trainyard.runtime.RunLayout;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.train.Checkpoints;
import dev.trainyard.runtime.train.DistributedOptions;
import dev.trainyard.runtime.train.DistributedSampler;
import dev.trainyard.runtime.train.DistributedTrainer;
import dev.trainyard.runtime.train.TrainingLoop;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A GPT-style byte-level language model trained data-parallel on real text:
 * {@code ./trainyard launch --nproc-per-node 2 --example gpt -- --epochs 3}. Reports validation
 * loss and perplexity per epoch and, at the end, samples text from the model.
 */
@Command(name = "gpt", mixinStandardHelpOptions = true, description = "Train a small GPT on text (Debian's fortunes by default)")
public final class LanguageModel implements Callable<Integer> {
    @Option(names = "--epochs", defaultValue = "3")
    int epochs;
    @Option(names = "--batch-size", defaultValue = "32", description = "windows per rank per step")
    int batchSize;
    @Option(names = "--context", defaultValue = "64", description = "bytes per window (the attention span)")
    int context;
    @Option(names = "--dim", defaultValue = "256", description = "model width")
    int dim;
    @Option(names = "--layers", defaultValue = "4")
    int layers;
    @Option(names = "--heads", defaultValue = "4")
    int heads;
    @Option(names = "--lr", defaultValue = "0.001", description = "peak learning rate of AdamW (warm-up over 5% of the run, then cosine to 0)")
    double lr;
    @Option(names = "--corpus", description = "directory of text files (default: ${DEFAULT-VALUE})")
    Path corpus = TextCorpus.FORTUNES;
    @Option(names = "--limit-bytes", defaultValue = "100000000", description = "use at most this many bytes of the corpus")
    long limitBytes;
    @Option(names = "--sample-bytes", defaultValue = "400", description = "bytes of text to generate at the end (0: none)")
    int sampleBytes;
    @Option(names = "--seed", defaultValue = "7")
    long seed;
    @Option(names = "--no-overlap", description = "all-reduce after the whole backward instead of layer by layer")
    boolean noOverlap;
    @Option(names = "--checkpoint-every", defaultValue = "500", description = "steps between checkpoints (and at each epoch end)")
    int checkpointEvery;
    @Option(names = "--threads", description = "PyTorch intra-op threads per worker (default: cores / workers on this node)")
    Integer threads;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        ExampleCli.run(new LanguageModel(), args);
    }

    private void validate() {
        if (epochs < 1 || batchSize < 1 || context < 2 || dim < 1 || layers < 1 || heads < 1 || limitBytes < 2 || sampleBytes < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--epochs, --batch-size, --dim, --layers and --heads must be at least 1, "
                    + "--context and --limit-bytes at least 2, --sample-bytes not negative");
        }
        if (dim % heads != 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dim " + dim + " must be a multiple of --heads " + heads);
        }
        if (!(lr > 0)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--lr must be a positive number, got " + lr);
        }
    }

    @Override
    public Integer call() throws IOException, TranslateException {
        validate();
        TextCorpus text;
        try {
            text = TextCorpus.load(corpus, limitBytes);
            text.requireFits(context); // before the job starts
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        try (ProcessGroup pg = Trainyard.init()) {
            ComputeThreads.configure(pg, threads);
            try (Model m = Model.newInstance("gpt")) {
                Gpt gpt = new Gpt(TextCorpus.VOCABULARY, context, dim, layers, heads);
                m.setBlock(gpt);
                NDManager manager = m.getNDManager();
                DistributedSampler sampler = new DistributedSampler(batchSize, pg.rank(), pg.worldSize(), seed, true, DistributedSampler.Uneven.PAD);
                ArrayDataset train = text.windows(manager, true, context).setSampling(sampler).build();
                ArrayDataset validation = text.windows(manager, false, context).setSampling(64, false).build();
                RunEvents.dataset("text: " + text.source(), train.size(), false);
                long totalSteps = (long) epochs * sampler.batchesPerEpoch(train.size());
                LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(lr, Math.max(1, totalSteps / 20), totalSteps, 0);
                DistributedOptions options = DistributedOptions.defaults().withOverlap(!noOverlap)
                        .withOptimizer(Adam.adamW(schedule, 0.9, 0.95, 1e-8, 0.1)).withGradientClipping(1.0);
                try (DistributedTrainer trainer = new DistributedTrainer(m, new DefaultTrainingConfig(new NextTokenLoss()), pg, options)) {
                    trainer.initialize(new Shape(1, context));
                    if (pg.rank() == 0) {
                        long parameters = gpt.getParameters().values().stream().mapToLong(p -> p.getArray().size()).sum();
                        System.out.printf(Locale.ROOT, "gpt: %.2f M parameters, %d layers of width %d, context %d bytes; %d training windows (%s)%n",
                                parameters / 1e6, layers, dim, context, train.size(), text.source());
                    }
                    TrainingLoop loop = new TrainingLoop(trainer, train, sampler).epochs(epochs).onEpoch((epoch, seconds, samples) -> {
                        double loss = validationLoss(trainer, validation, manager);
                        if (pg.rank() == 0) {
                            RunEvents.metric("validation_loss", loss);
                            System.out.printf(Locale.ROOT, "epoch %d/%d validation loss %.4f perplexity %.3f (%.0f windows/s, %.0f s)%n",
                                    epoch + 1, epochs, loss, Math.exp(loss), samples * pg.worldSize() / seconds, seconds);
                        }
                    });
                    if (!pg.context().standalone()) {
                        loop.checkpoints(new Checkpoints(RunLayout.checkpoints(pg.context().runDir()), 3,
                                line -> System.out.println("rank " + pg.rank() + ": " + line)), checkpointEvery);
                    }
                    loop.run();
                    if (pg.rank() == 0 && sampleBytes > 0) {
                        System.out.println("gpt: sampled text (temperature 0.8):");
                        System.out.println(sample(trainer, manager, "The ", sampleBytes, new SplittableRandom(seed)));
                    }
                }
            }
        }
        return 0;
    }

    /** Mean next-byte cross-entropy over the held-out windows (nats per byte). */
    private static double validationLoss(DistributedTrainer trainer, ArrayDataset validation, NDManager manager) throws IOException, TranslateException {
        NextTokenLoss loss = new NextTokenLoss();
        double sum = 0;
        long windows = 0;
        for (Batch b : validation.getData(manager)) {
            NDList scores = trainer.evaluate(b.getData());
            sum += loss.evaluate(b.getLabels(), scores).getFloat() * b.getSize();
            windows += b.getSize();
            b.close();
        }
        return sum / windows;
    }

    /** Continues {@code prompt} byte by byte, each drawn from the model's distribution at temperature 0.8. */
    private String sample(DistributedTrainer trainer, NDManager manager, String prompt, int count, SplittableRandom random) {
        byte[] prefix = prompt.getBytes(StandardCharsets.UTF_8);
        byte[] out = java.util.Arrays.copyOf(prefix, prefix.length + count);
        for (int n = prefix.length; n < out.length; n++) {
            int from = Math.max(0, n - context);
            long[] ids = new long[n - from];
            for (int i = from; i < n; i++) {
                ids[i - from] = out[i] & 0xff;
            }
            try (NDManager step = manager.newSubManager()) {
                NDArray scores = trainer.evaluate(new NDList(step.create(ids, new Shape(1, ids.length)))).head();
                float[] p = scores.get(ids.length - 1).div(0.8f).softmax(0).toFloatArray();
                out[n] = (byte) draw(p, random.nextDouble());
            }
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private static int draw(float[] p, double u) {
        double cumulative = 0;
        for (int i = 0; i < p.length; i++) {
            cumulative += p[i];
            if (u < cumulative) {
                return i;
            }
        }
        return p.length - 1;
    }
}
