package dev.trainyard.runtime.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.trainyard.runtime.RunLayout;
import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.TrainingConfig;
import ai.djl.training.optimizer.Optimizer;
import dev.trainyard.collectives.DataType;
import dev.trainyard.runtime.JsonLinesFile;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.RunEvents;
import dev.trainyard.runtime.Tracing;
import dev.trainyard.runtime.optim.FusedOptimizer;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A DJL {@link Trainer} that trains data-parallel across the ranks of a {@link ProcessGroup}:
 * {@code EasyTrain.fit}, listeners and datasets work unchanged. It broadcasts rank 0's initial
 * parameters, averages gradients bucket by bucket with all-reduces started during backward (stage
 * by stage when {@link DistributedOptions#overlap()} is on), waits in {@link #step()} only for what
 * is still in flight, and records where each step's time went.
 *
 * <p>One trainer per process (DJL allows one open gradient collector per JVM) and one device: on
 * CPU the gradients live inside the buckets; on a GPU they are copied into device buckets that NCCL
 * reduces in place ({@link CopiedGradientBuckets}).
 */
public class DistributedTrainer extends Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(DistributedTrainer.class);
    /**
     * A write system call per step cost measurable time at a few thousand steps per second; the
     * progress line refreshes every second, so a quarter second of buffering is invisible there. A
     * worker killed with SIGKILL loses at most that much of its last lines.
     */
    private static final long METRICS_FLUSH_NANOS = 250_000_000L;
    private final ProcessGroup group;
    private final DistributedOptions options;
    /** DJL's Trainer does not keep it; its optimizer is needed to map it onto a fused one. */
    private final TrainingConfig config;
    /** Parameters as the block sees them (no copies, no parameter server): used by the staged forward. */
    private final ParameterStore directStore;
    private ModelStages stages;
    /** Null when the model has no buffers, the world is one rank, or the option is off. */
    private BufferSync bufferSync;
    private GradientBuckets buckets;
    private NDList[] stageInputs;
    private NDList[] stageOutputs;
    private JsonLinesFile metricsOut;
    /** When the metrics file was last flushed: lines reach the file (and the launcher's progress line) in batches, not one write per step. */
    private long metricsFlushedNanos;
    private StepMetrics last;

    private long stepCalls;
    private long steps;
    private long skippedSteps;
    private boolean noSync;
    private StepClock clock;
    /** The fused update and its state; null on DJL's optimizer path. */
    private FusedStep fused;
    private final ShardedCheckpoints shardedCheckpoints;
    private final PeakMemory peakMemory = new PeakMemory();

    public DistributedTrainer(Model model, TrainingConfig config, ProcessGroup group, DistributedOptions options) {
        super(model, config);
        if (getDevices().length != 1) {
            throw new IllegalArgumentException("a DistributedTrainer drives one device per process; got " + getDevices().length
                    + " (launch one worker per device instead)");
        }
        if (getDevices()[0].isGpu() && options.compression() != DataType.FLOAT32) {
            throw new IllegalArgumentException("gradient compression (" + options.compression() + ") is for CPU buckets; on "
                    + getDevices()[0] + " gradients travel as float32 (NCCL moves them at device bandwidth)");
        }
        this.group = group;
        this.options = options;
        this.config = config;
        this.directStore = new ParameterStore(getManager(), false);
        this.shardedCheckpoints = new ShardedCheckpoints(group.communicator(), this::say);
    }

    /** Initializes the block as DJL does, then makes every rank start from rank 0's parameters. */
    @Override
    public void initialize(Shape... shapes) {
        super.initialize(shapes);
        setUp();
    }

    /** For a block whose parameters already exist (loaded): plan buckets and synchronize parameters. */
    public void setUp() {
        if (buckets != null) {
            return;
        }
        Block block = getModel().getBlock();
        stages = ModelStages.of(block, stagesWanted(block));
        BucketPlan plan = BucketPlan.build(block.getParameters(), stages, options.firstBucketBytes(), options.bucketBytes());
        ParameterSync.requireSamePlan(plan, group.communicator(), group.rank());
        if (group.worldSize() > 1) {
            say("gradients: " + plan.totalBytes() + " bytes in " + plan.buckets().size() + " buckets, all-reduced as "
                    + (stages.count() == 1 ? "backward ends (one stage)" : "each of " + stages.count() + " backward stages ends"));
        }
        ParameterSync.broadcastFromRank0(block, group.communicator());
        boolean checkFinite = options.nonFinite() != NonFinitePolicy.OFF;
        Device device = getDevices()[0];
        boolean hostBuckets = options.gradientAsBucketView() && !device.isGpu();
        FusedOptimizer optimizer = chooseOptimizer(device, hostBuckets);
        ShardLayout shards = null;
        if (options.shardedOptimizer()) {
            if (optimizer == null) {
                throw new IllegalArgumentException("a sharded optimizer (ZeRO-1) needs a fused optimizer on host buckets "
                        + "(DistributedOptions.withOptimizer, CPU, gradients as bucket views)");
            }
            shards = group.worldSize() > 1 ? ShardLayout.of(plan, group.rank(), group.worldSize()) : null;
        }
        buckets = hostBuckets
                ? new ViewGradientBuckets(plan, group.communicator(), group.worldSize(), options.compression(), checkFinite, getManager(), shards)
                : new CopiedGradientBuckets(plan, group.communicator(), group.worldSize(), checkFinite, getManager(), device);
        if (optimizer != null) {
            fused = new FusedStep(optimizer, plan, shards, group.communicator(), options.maxGradNorm());
            say("optimizer: Trainyard's fused " + optimizer.describe() + (options.maxGradNorm() > 0 ? ", gradients clipped to norm "
                    + options.maxGradNorm() : "") + (shards != null ? ", state sharded over " + group.worldSize() + " ranks (ZeRO-1)" : ""));
            RunEvents.metric("optimizer_state_bytes", fused.stateBytes());
        }
        stageInputs = new NDList[stages.count()];
        stageOutputs = new NDList[stages.count()];
        bufferSync = options.bufferSync() && group.worldSize() > 1 ? BufferSync.of(block) : null;
        if (bufferSync != null) {
            say("buffers: " + bufferSync.count() + " parameters without gradients (e.g. batch norm's running statistics, "
                    + bufferSync.bytes() + " bytes) are averaged over the ranks after each training forward");
        }
        metricsFile().ifPresent(f -> {
            try {
                metricsOut = JsonLinesFile.append(f, "metrics");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open the metrics file " + f, e);
            }
        });
        clock = new StepClock(stages.count(), Tracing.fromEnvironment());
    }

    /**
     * A fused optimizer where one was given or the config's DJL optimizer maps onto one; they work
     * on host buckets, so on a GPU or with copied gradients DJL's path stays, and the user is told
     * what that costs.
     */
    private FusedOptimizer chooseOptimizer(Device device, boolean hostBuckets) {
        OptimizerChoice choice = options.optimizer();
        FusedOptimizer wanted = choice.fused().orElse(null);
        String why = null;
        if (wanted == null && choice.mapFromConfig()) {
            Optimizer djl = config.getOptimizer();
            DjlOptimizers.Mapping m = djl == null ? new DjlOptimizers.Mapping(null, "the config has none")
                    : DjlOptimizers.map(djl);
            wanted = m.fused();
            why = m.notMapped() == null ? null : "DJL's " + (djl == null ? "optimizer" : djl.getClass().getSimpleName())
                    + " stays on DJL's path because " + m.notMapped();
            if (wanted != null) {
                say("the config's DJL " + djl.getClass().getSimpleName() + " runs as Trainyard's fused optimizer with PyTorch's formulas"
                        + " (one pass per bucket, its state saved in checkpoints)");
            }
        }
        if (wanted != null && !hostBuckets) {
            String where = device.isGpu() ? "on " + device : "with copied gradient buckets";
            if (choice.fused().isPresent()) {
                throw new IllegalArgumentException("fused optimizers update host buckets; " + where
                        + " use DJL's optimizer (DistributedOptions.withDjlOptimizer())");
            }
            why = "fused optimizers update host buckets and this trainer runs " + where;
            wanted = null;
        }
        if (wanted == null) {
            if (why != null) {
                say(why + ": each step goes parameter by parameter, and optimizer state (moments, schedule) is not saved in checkpoints");
            }
            if (options.maxGradNorm() > 0) {
                throw new IllegalArgumentException("gradient clipping by norm needs a fused optimizer (DistributedOptions.withOptimizer)");
            }
        }
        return wanted;
    }

    private void say(String line) {
        if (group.rank() == 0) {
            LOG.info(line);
        }
    }

    /**
     * Stages for the overlapped backward. A world of one has nothing to overlap (and no all-reduce
     * at all, see launch). Gradients that fit in the first bucket go as one all-reduce at the end
     * of backward, as DDP sends them: splitting them adds a collective per stage and a staged
     * backward for no hidden time (measured with the 0.94 MB MLP, 2 workers on 2 cores: one
     * bucket 37,900-45,500 samples/s against 34,200-37,800 staged, alternating). A smaller first
     * bucket ({@link DistributedOptions#withFirstBucketBytes}) brings overlap back for such models
     * on slow links.
     */
    private int stagesWanted(Block block) {
        if (!options.overlap() || group.worldSize() == 1) {
            return 1;
        }
        long gradientBytes = 0;
        for (Parameter p : block.getParameters().values()) {
            if (p.requiresGradient()) {
                gradientBytes += p.getArray().size() * p.getArray().getDataType().getNumOfBytes();
            }
        }
        return gradientBytes <= options.firstBucketBytes() ? 1 : options.stages();
    }

    /** The options' file, else {@code RUN_DIR/metrics-rank-N.jsonl} under the launcher; none standalone. */
    private Optional<Path> metricsFile() {
        if (options.metricsFile().isPresent() || group.context().standalone()) {
            return options.metricsFile();
        }
        return Optional.of(RunLayout.metrics(group.context().runDir(), group.rank()));
    }

    /**
     * Continues from the newest valid checkpoint, if there is one: rank 0 loads it, then every
     * rank receives its parameters and training state, so nodes need no shared filesystem.
     */
    public TrainingState resume(Checkpoints checkpoints) {
        setUp();
        long[] s = new long[4];
        OptimizerState loaded = fused == null ? null : fused.newFullState();
        if (group.rank() == 0) {
            checkpoints.loadNewest(getModel().getBlock(), loaded).ifPresent(st -> {
                s[0] = 1;
                s[1] = st.epoch();
                s[2] = st.batchesDone();
                s[3] = st.step();
            });
        }
        group.communicator().broadcast(s, 0);
        if (s[0] == 0) {
            return TrainingState.START;
        }
        ParameterSync.broadcastFromRank0(getModel().getBlock(), group.communicator());
        if (fused != null) {
            fused.restore(loaded);
        }
        steps = s[3];
        return new TrainingState((int) s[1], s[2], s[3]);
    }

    /**
     * Writes a checkpoint of this step. Collective: every rank calls it at the same step
     * ({@link TrainingLoop} does). Rank 0 writes one file, except with a sharded optimizer whose
     * checkpoint directory every rank shares: then every rank writes its own shard of the state
     * into a directory rank 0 commits once all of them are durable ({@link ShardedCheckpoints}).
     *
     * @return on rank 0, what was written
     */
    public Optional<Path> saveCheckpoint(Checkpoints checkpoints, TrainingState state) {
        if (fused != null && fused.sharded() && shardedCheckpoints.sharedByEveryRank(checkpoints)) {
            return shardedCheckpoints.save(checkpoints, state, getModel().getBlock(), fused.ownShard(), fused.layout());
        }
        OptimizerState optimizer = optimizerStateForCheckpoint();
        return group.rank() == 0 ? Optional.of(checkpoints.save(state, getModel().getBlock(), optimizer)) : Optional.empty();
    }

    /**
     * The fused optimizer's state in the unsharded layout, for a checkpoint; null on DJL's
     * optimizer path. With a sharded optimizer this is a collective: every rank calls it at the
     * same step ({@link TrainingLoop} does).
     */
    public OptimizerState optimizerStateForCheckpoint() {
        return fused == null ? null : fused.stateForCheckpoint();
    }

    /** Bytes of optimizer state this rank holds (1/N of it with a sharded optimizer); 0 on DJL's path, whose state is out of reach. */
    public long optimizerStateBytes() {
        return fused == null ? 0 : fused.stateBytes();
    }

    @Override
    public NDList forward(NDList data, NDList labels) {
        setUp();
        clock.forwardStarts(data.head().getShape().get(0));
        try {
            NDList out;
            if (stages.count() == 1) {
                long t0 = System.nanoTime();
                out = super.forward(data, labels);
                clock.forwardStage(0, System.nanoTime() - t0);
            } else {
                out = stagedForward(data);
            }
            if (bufferSync != null && syncsThisMicroBatch()) {
                bufferSync.start(group.communicator()); // runs while backward computes; step() awaits it
            }
            return out;
        } finally {
            clock.forwardEnds();
        }
    }

    /** Runs stage by stage; each later stage starts from a detached copy of the previous output. */
    private NDList stagedForward(NDList data) {
        NDList x = data;
        for (int s = 0; s < stages.count(); s++) {
            long t0 = System.nanoTime();
            if (s > 0) {
                NDList boundary = new NDList(x.size());
                for (NDArray a : x) {
                    NDArray b = a.stopGradient();
                    if (a.getDataType().isFloating()) { // an integer array (token ids, a mask) carries no gradient
                        b.setRequiresGradient(true);
                    }
                    boundary.add(b);
                }
                stageInputs[s] = boundary;
                x = boundary;
            }
            for (Block b : stages.blocks(s)) {
                x = b.forward(directStore, x, true);
            }
            stageOutputs[s] = x;
            clock.forwardStage(s, System.nanoTime() - t0);
        }
        return x;
    }

    /** True for the micro-batch whose backward sends gradients: the last before a step, outside {@code noSync}. */
    private boolean syncsThisMicroBatch() {
        return !noSync && stepCalls % options.accumulationSteps() == options.accumulationSteps() - 1;
    }

    @Override
    public GradientCollector newGradientCollector() {
        return new SyncingCollector(super.newGradientCollector());
    }

    /** Backward that starts the all-reduce of each stage's buckets as soon as that stage is done. */
    private final class SyncingCollector implements GradientCollector {
        private final GradientCollector inner;

        SyncingCollector(GradientCollector inner) {
            this.inner = inner;
        }

        @Override
        public void backward(NDArray target) {
            clock.backwardStarts();
            // with one rank "launching" only checks the gradients (GradientBuckets sends nothing)
            // a fused optimizer reads the gradients from the buckets, so they are bound even in a world of one
            boolean sync = (group.worldSize() > 1 || options.nonFinite() != NonFinitePolicy.OFF || fused != null) && syncsThisMicroBatch();
            long t0 = System.nanoTime();
            inner.backward(target);
            int k = stages.count();
            clock.backwardStage(k - 1, System.nanoTime() - t0);
            if (sync) {
                buckets.launchStage(k - 1, options.lastBucketOnCallerThread());
            }
            for (int s = k - 2; s >= 0; s--) {
                long ts = System.nanoTime();
                backwardThroughStage(stageOutputs[s], stageInputs[s + 1]);
                clock.backwardStage(s, System.nanoTime() - ts);
                if (sync) {
                    buckets.launchStage(s, options.lastBucketOnCallerThread());
                }
            }
            clock.backwardEnds();
        }

        /**
         * Continues backward from a stage's outputs with the gradients its successor left on their
         * detached copies. Outputs that carry none (integer arrays such as token ids or masks) are
         * skipped; the graph is kept until the last one that does.
         */
        private void backwardThroughStage(NDList outputs, NDList nextInputs) {
            int last = -1;
            for (int i = 0; i < outputs.size(); i++) {
                if (nextInputs.get(i).hasGradient()) {
                    last = i;
                }
            }
            for (int i = 0; i <= last; i++) {
                NDArray next = nextInputs.get(i);
                if (next.hasGradient()) {
                    try (NDArray grad = next.getGradient()) {
                        JniUtils.backward((PtNDArray) outputs.get(i), (PtNDArray) grad, i < last, false);
                    }
                }
            }
        }

        @Override
        public void zeroGradients() {
            inner.zeroGradients();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /**
     * Waits for the gradients still in flight, then runs the optimizer. With gradient accumulation
     * over k micro-batches, only every k-th call steps (the others return at once).
     */
    @Override
    public void step() {
        if (++stepCalls % options.accumulationSteps() != 0) {
            return;
        }
        long awaitStart = System.nanoTime();
        buckets.awaitAll();
        if (bufferSync != null) {
            bufferSync.finish(group.communicator());
        }
        long t0 = System.nanoTime();
        steps++;
        boolean skip = buckets.stepHadNonFinite();
        if (skip) {
            skipNonFiniteStep();
        } else if (fused != null) {
            fused.step(buckets);
        } else {
            super.step();
        }
        long t1 = System.nanoTime();
        last = clock.stepped(steps, awaitStart, t0, t1, buckets.timing(), group.worldSize() > 1 ? buckets.bytesPerStep() : 0, skip);
        writeMetrics(last);
        if (getMetrics() != null) {
            DjlStepMetrics.record(getMetrics(), last);
        }
    }

    /**
     * Every rank sees the same verdict (the non-finite flag travels inside the averaged buckets), so
     * every rank skips the same step and parameters stay identical.
     */
    private void skipNonFiniteStep() {
        skippedSteps++;
        String where = buckets.localNonFiniteParameter();
        String what = where != null
                ? "rank " + group.rank() + ": non-finite gradient (NaN or infinity) in parameter " + where + " at step " + steps
                : "rank " + group.rank() + ": step " + steps + ": another rank's gradients were non-finite";
        if (options.nonFinite() == NonFinitePolicy.FAIL) {
            throw new IllegalStateException(what + " (policy fail)");
        }
        LOG.warn("{}; the step is skipped on every rank (policy skip-step; {} skipped so far)", what, skippedSteps);
        buckets.zeroAll();
    }

    /** Steps skipped because some rank's gradients were non-finite. */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** Pushes the buffered per-step metrics to their file now (before a checkpoint that covers those steps). */
    public void flushMetrics() {
        if (metricsOut != null) {
            metricsOut.flush();
            metricsFlushedNanos = System.nanoTime();
        }
    }

    private void writeMetrics(StepMetrics m) {
        if (metricsOut == null) {
            return;
        }
        long now = System.nanoTime();
        boolean flush = now - metricsFlushedNanos >= METRICS_FLUSH_NANOS;
        metricsOut.write(m.toJson(group.rank(), group.restartCount()), flush);
        if (flush) {
            metricsFlushedNanos = now;
            peakMemory.report();
        }
    }

    /**
     * Backward inside this scope does not synchronize gradients (they accumulate locally), like
     * DDP's {@code no_sync()}: {@code try (var s = trainer.noSync()) { trainBatch... }}.
     */
    public AutoCloseable noSync() {
        noSync = true;
        return () -> noSync = false;
    }

    /** The timing of the last optimizer step, or null before the first. */
    public StepMetrics lastStep() {
        return last;
    }

    public long stepCount() {
        return steps;
    }

    public ProcessGroup processGroup() {
        return group;
    }

    /** CRC32 over all parameters in name order: equal across ranks iff they hold bit-identical parameters. */
    public long parameterDigest() {
        return ParameterSync.digest(getModel().getBlock());
    }

    @Override
    public void close() {
        try {
            if (buckets != null) {
                buckets.awaitAll();
            }
            if (bufferSync != null) {
                bufferSync.awaitInFlight();
            }
            if (metricsOut != null) {
                metricsOut.close();
                peakMemory.report();
            }
        } finally {
            super.close();
        }
    }
}
