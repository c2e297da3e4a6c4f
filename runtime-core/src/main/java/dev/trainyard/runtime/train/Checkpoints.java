package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.runtime.IoErrors;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoints in a directory, written atomically: temp file, fsync, rename, fsync of the
 * directory, so a crash leaves the old checkpoint or the new one, never half of one. A file holds
 * the training state, each parameter's name, size and raw bytes (read and written in place, so
 * the trainer's buffers keep pointing at the same tensors), the fused optimizer's state (update
 * count, which also places the learning-rate schedule, and its per-parameter arrays) when there is
 * one, and a CRC32 of everything before it. With a sharded optimizer a checkpoint is a directory
 * instead, each rank writing its own shard ({@link CheckpointDirectory}).
 *
 * <p>Files are written and read as streams ({@link CheckpointWriter}, {@link CheckpointReader}):
 * the heap holds one 64 KiB buffer whatever the model's size. Loading takes the newest checkpoint
 * that is whole and matches this run's parameters and optimizer; every one passed over is named
 * with the reason. One written for another model or optimizer makes loading fall back to the
 * previous one, or start fresh, as the user chose ({@link Incompatible}). On DJL's optimizer path
 * there is no optimizer state to save: DJL keeps it in private maps keyed by per-process ids.
 */
public final class Checkpoints {
    static final String PREFIX = "checkpoint-";
    static final String SUFFIX = ".tyck";
    private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)(" + Pattern.quote(SUFFIX) + ")?");
    private static final String TEMP = ".tmp-";

    /** What loading does when the newest checkpoint belongs to another model or optimizer. */
    public enum Incompatible {
        /** Try the previous checkpoint, then start fresh. */
        PREVIOUS,
        /** Start fresh: the older checkpoints are from the same other configuration. */
        FRESH
    }

    private final Path dir;
    private final int keep;
    private final Consumer<String> log;
    private final Incompatible onIncompatible;

    public Checkpoints(Path dir, int keep, Consumer<String> log) {
        this(dir, keep, log, Incompatible.PREVIOUS);
    }

    public Checkpoints(Path dir, int keep, Consumer<String> log, Incompatible onIncompatible) {
        this.dir = dir;
        this.keep = Math.max(1, keep);
        this.log = log;
        this.onIncompatible = onIncompatible;
    }

    Path directory() {
        return dir;
    }

    /** Writes {@code state} and the block's parameters; keeps the newest {@code keep} checkpoints. */
    public Path save(TrainingState state, Block block) {
        return save(state, block, null);
    }

    /** Writes {@code state}, the block's parameters and {@code optimizer} (null: none). */
    public Path save(TrainingState state, Block block, OptimizerState optimizer) {
        Path target = dir.resolve(String.format("%s%012d%s", PREFIX, state.step(), SUFFIX));
        Path tmp = dir.resolve(TEMP + target.getFileName());
        try {
            Files.createDirectories(dir);
            try (CheckpointWriter w = new CheckpointWriter(tmp)) {
                w.writeState(state);
                w.writeParameters(block);
                w.writeOptimizer(optimizer);
                w.finish();
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            CheckpointWriter.syncDirectory(dir); // the rename itself must survive a crash
            prune();
            log.accept("checkpoint " + target + " written (step " + state.step()
                    + (optimizer != null ? ", " + optimizer.kind() + " state crc32 " + Long.toHexString(optimizer.crc32()) : "") + ")");
            return target;
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp); // a full disk must not leave half a file behind
            } catch (IOException ignored) {
                // the original failure is the one to report
            }
            throw failure(e);
        }
    }

    /** Rank 0, before any rank writes a shard of {@code step}: an empty directory (a crashed attempt's leftovers go). */
    Path prepareShardDirectory(long step) {
        Path target = shardDirectory(step);
        try {
            deleteTree(target);
            Files.createDirectories(target);
            return target;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    Path shardDirectory(long step) {
        return dir.resolve(String.format("%s%012d", PREFIX, step));
    }

    /** Any rank: writes its shard into the directory rank 0 prepared. */
    CheckpointDirectory.FileEntry writeShard(Path target, OptimizerShard shard) {
        try {
            return CheckpointDirectory.writeShard(target, shard);
        } catch (IOException | RuntimeException e) {
            throw failure(e);
        }
    }

    /**
     * Rank 0, once every rank's shard is durable: writes the model file and commits the directory
     * with its manifest; on failure the directory goes and the previous checkpoint stays valid.
     */
    Path commitShards(Path target, TrainingState state, Block block, OptimizerShard ownShard, List<OptimizerState.Slice> layout,
            List<CheckpointDirectory.FileEntry> shards) {
        try {
            List<CheckpointDirectory.FileEntry> files = new ArrayList<>();
            files.add(CheckpointDirectory.writeModel(target, state, block, ownShard, layout));
            files.addAll(shards);
            CheckpointDirectory.commit(target, state.step(), ownShard.worldSize(), files);
            prune();
            log.accept("checkpoint " + target + " written (step " + state.step() + ", " + ownShard.own().kind() + " state in "
                    + shards.size() + " shards, one per rank)");
            return target;
        } catch (IOException | RuntimeException e) {
            abandon(target);
            throw failure(e);
        }
    }

    /** Rank 0, when a rank could not write its shard: nothing of this checkpoint stays. */
    void abandon(Path target) {
        try {
            deleteTree(target);
        } catch (IOException ignored) {
            // an uncommitted directory is passed over when loading and removed by the next save
        }
    }

    private UncheckedIOException failure(Exception e) {
        if (e instanceof IOException io) {
            return new UncheckedIOException("cannot write a checkpoint into " + dir + ": " + IoErrors.describe(io)
                    + "; the previous checkpoint is still valid", io);
        }
        throw (RuntimeException) e;
    }

    /**
     * Keeps the newest {@code keep} whole checkpoints; removes older ones, directories no rank 0
     * committed and temp files a killed writer left (only rank 0 calls this, after its own commit,
     * so none of them is being written).
     */
    private void prune() throws IOException {
        int whole = 0;
        for (Path p : list()) {
            boolean committed = Files.isRegularFile(p) || CheckpointDirectory.committed(p);
            if (committed && whole++ < keep) {
                continue;
            }
            deleteTree(p);
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.getFileName().toString().startsWith(TEMP + PREFIX)).toList()) {
                deleteTree(p);
            }
        }
    }

    /** Loads the newest usable checkpoint into the block's parameters; others are reported and skipped. */
    public Optional<TrainingState> loadNewest(Block block) {
        return loadNewest(block, null);
    }

    /**
     * Loads the newest usable checkpoint into the block's parameters and into {@code optimizer}
     * (null on DJL's path; with a sharded optimizer, the unsharded state the shards are put
     * together in). Corrupt or incomplete checkpoints are named with the reason and the previous
     * one is tried; one written for another model or optimizer as well, or training starts fresh,
     * as the {@link Incompatible} choice says.
     */
    public Optional<TrainingState> loadNewest(Block block, OptimizerState optimizer) {
        for (Path p : list()) {
            boolean directory = Files.isDirectory(p);
            try {
                String problem = directory ? CheckpointDirectory.verify(p) : CheckpointReader.verify(p);
                if (problem != null) {
                    log.accept("checkpoint " + p + " is unusable (" + problem + "); falling back to the previous one");
                    continue;
                }
                String mismatch = read(p, directory, block, optimizer, false).mismatch();
                if (mismatch == null) {
                    TrainingState state = read(p, directory, block, optimizer, true).state();
                    log.accept("resuming from " + p + " (epoch " + (state.epoch() + 1) + ", step " + state.step()
                            + (optimizer != null ? ", " + optimizer.kind() + " state crc32 " + Long.toHexString(optimizer.crc32()) : "") + ")");
                    return Optional.of(state);
                }
                if (onIncompatible == Incompatible.FRESH) {
                    log.accept("checkpoint " + p + " does not fit this run (" + mismatch + "); starting fresh, as chosen");
                    return Optional.empty();
                }
                log.accept("checkpoint " + p + " does not fit this run (" + mismatch + "); falling back to the previous one");
            } catch (IOException | RuntimeException e) {
                // any parse failure (a header that passes the CRC can still hold nonsense) means: this one is unusable
                log.accept("checkpoint " + p + " cannot be read (" + e + "); falling back to the previous one");
            }
        }
        return Optional.empty();
    }

    private CheckpointReader.Outcome read(Path p, boolean directory, Block block, OptimizerState optimizer, boolean apply) throws IOException {
        return directory ? CheckpointDirectory.read(p, block, optimizer, apply, log) : CheckpointReader.read(p, block, optimizer, apply, log);
    }

    /** Checkpoint files and directories, newest step first. */
    List<Path> list() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return new ArrayList<>(files.filter(f -> {
                Matcher m = NAME.matcher(f.getFileName().toString());
                return m.matches() && (m.group(2) != null ? Files.isRegularFile(f) : Files.isDirectory(f));
            }).sorted(Comparator.comparingLong(Checkpoints::stepOf).reversed()).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + dir, e);
        }
    }

    private static long stepOf(Path p) {
        Matcher m = NAME.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (Stream<Path> children = Files.list(p)) {
                for (Path c : children.toList()) {
                    deleteTree(c);
                }
            }
        }
        Files.deleteIfExists(p);
    }

    /** Bytes a parameter's tensor holds. */
    static long bytesOf(Pair<String, Parameter> p) {
        NDArray array = p.getValue().getArray();
        return array.size() * array.getDataType().getNumOfBytes();
    }
}
