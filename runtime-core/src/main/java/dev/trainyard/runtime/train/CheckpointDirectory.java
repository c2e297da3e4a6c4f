package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A checkpoint of a sharded (ZeRO-1) optimizer: a directory in which every rank writes its own
 * shard of the optimizer state ({@code optimizer-rank-R-of-N.tysh}) and rank 0 the parameters and
 * position ({@code model.tyck}); rank 0 commits it by writing {@code MANIFEST} (every file's size
 * and CRC32) atomically, and only after every rank has said its shard is durable. A directory
 * without a manifest, or whose files do not match it, is incomplete and is passed over with the
 * reason. Neither the shards nor the manifest depend on this run's bucketing: pieces are named
 * by parameter, so the state resumes onto any world size.
 */
final class CheckpointDirectory {
    static final String MANIFEST = "MANIFEST";
    static final String MODEL = "model.tyck";
    private static final String FORMAT = "trainyard-checkpoint 1";

    /** A file the manifest commits: its name in the directory, size and checksum. */
    record FileEntry(String name, long bytes, long crc32) {
    }

    private CheckpointDirectory() {
    }

    static String shardName(int rank, int worldSize) {
        return String.format("optimizer-rank-%05d-of-%05d.tysh", rank, worldSize);
    }

    /** Writes this rank's shard and makes it durable. */
    static FileEntry writeShard(Path dir, OptimizerShard shard) throws IOException {
        Path file = dir.resolve(shardName(shard.rank(), shard.worldSize()));
        long crc;
        try (CheckpointWriter w = new CheckpointWriter(file, CheckpointWriter.SHARD_MAGIC)) {
            w.writeShard(shard);
            crc = w.finish();
        }
        return new FileEntry(file.getFileName().toString(), Files.size(file), crc);
    }

    /** Rank 0: the position, the parameters and the optimizer's header, whose state is in the shards. */
    static FileEntry writeModel(Path dir, TrainingState state, Block block, OptimizerShard ownShard, List<OptimizerState.Slice> layout)
            throws IOException {
        Path file = dir.resolve(MODEL);
        long crc;
        try (CheckpointWriter w = new CheckpointWriter(file)) {
            w.writeState(state);
            w.writeParameters(block);
            OptimizerState own = ownShard.own();
            w.writeOptimizerInShards(own.kind(), own.steps(), own.slotsPerBucket(), layout);
            crc = w.finish();
        }
        return new FileEntry(MODEL, Files.size(file), crc);
    }

    /** Rank 0, once every file is durable: the manifest, atomically (temp file, fsync, rename, directory fsync). */
    static void commit(Path dir, long step, int worldSize, List<FileEntry> files) throws IOException {
        Path tmp = dir.resolve("." + MANIFEST + ".tmp");
        try (BufferedWriter out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            out.write(FORMAT + "\nstep " + step + "\nworld-size " + worldSize + "\n");
            for (FileEntry f : files) {
                out.write("file " + f.name() + " " + f.bytes() + " " + Long.toHexString(f.crc32()) + "\n");
            }
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        CheckpointWriter.syncDirectory(dir);
    }

    static boolean committed(Path dir) {
        return Files.isRegularFile(dir.resolve(MANIFEST));
    }

    /** Null if the manifest is there and every file it lists is whole and the one it committed; else what is wrong. */
    static String verify(Path dir) throws IOException {
        List<FileEntry> files;
        try {
            files = manifest(dir);
        } catch (NoSuchFileException e) {
            return "incomplete: it has no " + MANIFEST + ", so not every rank finished writing its shard before the job stopped";
        }
        if (files == null) {
            return "its " + MANIFEST + " is damaged";
        }
        for (FileEntry f : files) {
            Path file = dir.resolve(f.name());
            if (!Files.isRegularFile(file)) {
                return f.name() + " is missing";
            }
            if (Files.size(file) != f.bytes()) {
                return f.name() + " has " + Files.size(file) + " bytes where the manifest says " + f.bytes();
            }
            String problem = CheckpointReader.verify(file, f.name().equals(MODEL) ? CheckpointWriter.MAGIC : CheckpointWriter.SHARD_MAGIC);
            if (problem != null) {
                return f.name() + ": " + problem;
            }
            if (CheckpointReader.storedChecksum(file) != f.crc32()) {
                return f.name() + " is not the file the manifest committed (another checksum)";
            }
        }
        return files.stream().anyMatch(f -> f.name().equals(MODEL)) ? null : "its " + MANIFEST + " lists no " + MODEL;
    }

    /**
     * Compares (and with {@code apply}, loads) a verified directory against this run: the model
     * file first, then every shard into the unsharded {@code full} state (null on DJL's path),
     * checking that the shards together cover each parameter exactly.
     */
    static CheckpointReader.Outcome read(Path dir, Block block, OptimizerState full, boolean apply, Consumer<String> log) throws IOException {
        CheckpointReader.Outcome model = CheckpointReader.read(dir.resolve(MODEL), block, full, apply, log);
        if (model.mismatch() != null || full == null || !model.optimizerInShards()) {
            return model;
        }
        Map<String, Long> covered = new HashMap<>();
        for (FileEntry f : manifest(dir)) {
            if (!f.name().equals(MODEL)) {
                String mismatch = CheckpointReader.readShard(dir.resolve(f.name()), full, model.optimizerSteps(), covered, apply);
                if (mismatch != null) {
                    return new CheckpointReader.Outcome(null, mismatch, true, model.optimizerSteps());
                }
            }
        }
        for (OptimizerState.Slice p : full.parameters()) {
            long got = covered.getOrDefault(p.name(), 0L);
            if (got != p.count()) {
                return new CheckpointReader.Outcome(null, "its shards hold " + got + " of the " + p.count() + " state floats of parameter "
                        + p.name() + ": a shard is missing from the manifest", true, model.optimizerSteps());
            }
        }
        return model;
    }

    /** The manifest's files, null when it is damaged; {@link NoSuchFileException} when there is none. */
    private static List<FileEntry> manifest(Path dir) throws IOException {
        List<String> lines = Files.readAllLines(dir.resolve(MANIFEST), StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.get(0).equals(FORMAT)) {
            return null;
        }
        List<FileEntry> files = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(" ");
            if (f[0].equals("file")) {
                if (f.length != 4 || f[1].contains("/") || f[1].startsWith(".")) {
                    return null;
                }
                try {
                    files.add(new FileEntry(f[1], Long.parseLong(f[2]), Long.parseUnsignedLong(f[3], 16)));
                } catch (NumberFormatException e) {
                    return null;
                }
            }
        }
        return files;
    }
}
