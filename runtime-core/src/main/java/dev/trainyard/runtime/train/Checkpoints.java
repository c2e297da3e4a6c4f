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
import java.util.stream.Stream;

/**
 * Checkpoints in a directory, written atomically: temp file, fsync, rename, fsync of the
 * directory, so a crash leaves the old checkpoint or the new one, never half of one. A file holds
 * the training state, each parameter's name, size and raw bytes (read and written in place, so
 * the trainer's buffers keep pointing at the same tensors), the fused optimizer's state (update
 * count, which also places the learning-rate schedule, and its per-parameter arrays) when there is
 * one, and a CRC32 of everything before it.
 *
 * <p>Files are written and read as streams ({@link CheckpointWriter}, {@link CheckpointReader}):
 * the heap holds one 64 KiB buffer whatever the model's size. Loading takes the newest file whose
 * checksum holds and whose parameters and optimizer match this run; every file passed over is
 * named with the reason. On DJL's optimizer path there is no optimizer state to save: DJL keeps
 * it in private maps keyed by per-process ids.
 */
public final class Checkpoints {
    static final String PREFIX = "checkpoint-";
    static final String SUFFIX = ".tyck";

    private final Path dir;
    private final int keep;
    private final Consumer<String> log;

    public Checkpoints(Path dir, int keep, Consumer<String> log) {
        this.dir = dir;
        this.keep = Math.max(1, keep);
        this.log = log;
    }

    /** Writes {@code state} and the block's parameters; keeps the newest {@code keep} checkpoints. */
    public Path save(TrainingState state, Block block) {
        return save(state, block, null);
    }

    /** Writes {@code state}, the block's parameters and {@code optimizer} (null: none). */
    public Path save(TrainingState state, Block block, OptimizerState optimizer) {
        Path target = dir.resolve(String.format("%s%012d%s", PREFIX, state.step(), SUFFIX));
        Path tmp = dir.resolve(".tmp-" + target.getFileName());
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
            List<Path> all = list();
            for (Path old : all.subList(Math.min(keep, all.size()), all.size())) {
                Files.deleteIfExists(old);
            }
            log.accept("checkpoint " + target + " written (step " + state.step()
                    + (optimizer != null ? ", " + optimizer.kind() + " state crc32 " + Long.toHexString(optimizer.crc32()) : "") + ")");
            return target;
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp); // a full disk must not leave half a file behind
            } catch (IOException ignored) {
                // the original failure is the one to report
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot write a checkpoint into " + dir + ": " + IoErrors.describe(io)
                        + "; the previous checkpoint is still valid", io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Loads the newest usable checkpoint into the block's parameters; others are reported and skipped. */
    public Optional<TrainingState> loadNewest(Block block) {
        return loadNewest(block, null);
    }

    /**
     * Loads the newest usable checkpoint into the block's parameters and into {@code optimizer}
     * (null on DJL's path). Files that are corrupt, or written for another model or optimizer, are
     * named with the reason and the previous one is tried; with none usable, training starts fresh.
     */
    public Optional<TrainingState> loadNewest(Block block, OptimizerState optimizer) {
        for (Path p : list()) {
            try {
                String problem = CheckpointReader.verify(p);
                if (problem == null) {
                    problem = CheckpointReader.read(p, block, optimizer, false, log).mismatch();
                }
                if (problem == null) {
                    TrainingState state = CheckpointReader.read(p, block, optimizer, true, log).state();
                    log.accept("resuming from " + p + " (epoch " + (state.epoch() + 1) + ", step " + state.step()
                            + (optimizer != null ? ", " + optimizer.kind() + " state crc32 " + Long.toHexString(optimizer.crc32()) : "") + ")");
                    return Optional.of(state);
                }
                log.accept("checkpoint " + p + " is unusable (" + problem + "); falling back to the previous one");
            } catch (IOException | RuntimeException e) {
                // any parse failure (a header that passes the CRC can still hold nonsense) means: this file is unusable
                log.accept("checkpoint " + p + " cannot be read (" + e + "); falling back to the previous one");
            }
        }
        return Optional.empty();
    }

    /** Newest first. */
    List<Path> list() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return new ArrayList<>(files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(PREFIX) && n.endsWith(SUFFIX);
            }).sorted(Comparator.comparing(Path::toString).reversed()).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + dir, e);
        }
    }

    /** Bytes a parameter's tensor holds. */
    static long bytesOf(Pair<String, Parameter> p) {
        NDArray array = p.getValue().getArray();
        return array.size() * array.getDataType().getNumOfBytes();
    }

}
