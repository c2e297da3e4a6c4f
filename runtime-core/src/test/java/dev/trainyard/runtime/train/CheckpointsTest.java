package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Model;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.initializer.NormalInitializer;
import dev.trainyard.runtime.optim.Adam;
import dev.trainyard.runtime.optim.LearningRateSchedule;
import dev.trainyard.runtime.optim.OptimizerState;
import dev.trainyard.runtime.optim.Sgd;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    private static Model model(int units) {
        Model m = Model.newInstance("ck");
        SequentialBlock b = new SequentialBlock().add(Linear.builder().setUnits(units).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(3).build());
        b.setInitializer(new NormalInitializer(), ai.djl.nn.Parameter.Type.WEIGHT);
        m.setBlock(b);
        b.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, 4));
        return m;
    }

    private static float[] params(Block b) {
        List<Float> all = new ArrayList<>();
        b.getParameters().values().forEach(p -> {
            for (float v : p.getArray().toFloatArray()) {
                all.add(v);
            }
        });
        float[] out = new float[all.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = all.get(i);
        }
        return out;
    }

    @Test
    void savesAtomicallyLoadsInPlaceAndKeepsTheNewest() throws Exception {
        List<String> log = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir, 2, log::add);
        try (Model a = model(8); Model b = model(8)) {
            for (int step = 10; step <= 30; step += 10) {
                cps.save(new TrainingState(1, step, step), a.getBlock());
            }
            assertEquals(2, cps.list().size(), "keeps the newest 2");
            try (var files = Files.list(dir)) {
                assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".tmp")), "no temp file left");
            }
            var array = b.getBlock().getParameters().get(0).getValue().getArray();
            Optional<TrainingState> st = cps.loadNewest(b.getBlock());
            assertEquals(Optional.of(new TrainingState(1, 30, 30)), st);
            assertArrayEquals(params(a.getBlock()), params(b.getBlock()));
            assertTrue(array == b.getBlock().getParameters().get(0).getValue().getArray(), "loaded in place, same tensor");
        }
    }

    @Test
    void corruptNewestFallsBackToThePreviousAndSaysSo() throws Exception {
        List<String> log = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir, 3, log::add);
        try (Model a = model(8); Model b = model(8)) {
            cps.save(new TrainingState(0, 5, 5), a.getBlock());
            Path newest = cps.save(new TrainingState(0, 9, 9), a.getBlock());
            try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
                f.seek(f.length() / 2);
                f.write(f.read() ^ 0xff);
            }
            assertTrue(log.get(1).contains("checkpoint-000000000009.tyck written (step 9)"), log.toString());
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 5, 5)), cps.loadNewest(b.getBlock()));
            assertTrue(log.get(0).contains("checksum mismatch") && log.get(0).contains("falling back"), log.toString());
            try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
                f.setLength(100);
            }
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 5, 5)), cps.loadNewest(b.getBlock()));
            assertTrue(log.get(0).contains("unusable"), log.toString());
        }
    }

    @Test
    void passesOverACheckpointOfAnotherModelOrOptimizerNamingTheMismatch() throws Exception {
        List<String> log = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir, 3, log::add);
        try (Model a = model(8); Model other = model(16)) {
            float[] before = params(other.getBlock());
            cps.save(new TrainingState(0, 1, 1), a.getBlock());
            log.clear();
            assertEquals(Optional.empty(), cps.loadNewest(other.getBlock()), "nothing usable: a fresh start");
            assertTrue(log.get(0).contains("belongs to another model") && log.get(0).contains("falling back"), log.toString());
            assertArrayEquals(before, params(other.getBlock()), "nothing half-loaded");

            log.clear();
            int[] counts = counts(a.getBlock());
            OptimizerState adam = Adam.adam(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0).newState(counts);
            cps.save(new TrainingState(0, 2, 2), a.getBlock(), adam);
            log.clear();
            OptimizerState sgd = new Sgd(LearningRateSchedule.constant(0.1), 0.9, 0, false, 0).newState(counts);
            assertEquals(Optional.of(new TrainingState(0, 1, 1)), cps.loadNewest(a.getBlock(), sgd), "the older file has no optimizer state: usable");
            assertTrue(log.get(0).contains("holds adam state and this run uses momentum"), log.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("no optimizer state") && l.contains("schedule at step 1")), log.toString());
            assertEquals(1, sgd.steps());

            log.clear();
            Checkpoints fresh = new Checkpoints(dir, 3, log::add, Checkpoints.Incompatible.FRESH);
            OptimizerState sgdAgain = new Sgd(LearningRateSchedule.constant(0.1), 0.9, 0, false, 0).newState(counts);
            assertEquals(Optional.empty(), fresh.loadNewest(a.getBlock(), sgdAgain), "chosen: a fresh start, not the older file");
            assertEquals(1, log.size(), log.toString());
            assertTrue(log.get(0).contains("holds adam state and this run uses momentum") && log.get(0).endsWith("starting fresh, as chosen"), log.toString());
        }
    }

    private static OptimizerState randomAdamW(int[] counts, List<OptimizerState.Slice> layout, long steps, long seed) {
        OptimizerState s = Adam.adamW(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0.01).newState(counts);
        s.describeParameters(layout);
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        for (int b = 0; b < counts.length; b++) {
            for (int slot = 0; slot < s.slotsPerBucket(); slot++) {
                float[] x = s.slot(b, slot);
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) r.nextGaussian();
                }
            }
        }
        s.setSteps(steps);
        return s;
    }

    /**
     * What every rank of a 3-rank ZeRO-1 job does for one checkpoint, in one process: each rank's
     * own shard of the unsharded state {@code full}, written into the directory, then rank 0's commit.
     */
    private static Path writeSharded(Checkpoints cps, Block block, OptimizerState full, List<OptimizerState.Slice> layout, long step) {
        int world = 3;
        Path target = cps.prepareShardDirectory(step);
        List<CheckpointDirectory.FileEntry> shards = new ArrayList<>();
        OptimizerShard rank0 = null;
        for (int r = 0; r < world; r++) {
            ShardLayout shardLayout = new ShardLayout(r, world, full.counts());
            OptimizerState own = Adam.adamW(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0.01).newState(shardLayout.ownCounts());
            own.setSteps(full.steps());
            for (int b = 0; b < full.buckets(); b++) {
                for (int s = 0; s < own.slotsPerBucket(); s++) {
                    System.arraycopy(full.slot(b, s), shardLayout.ownStart(b), own.slot(b, s), 0, shardLayout.ownFloats(b));
                }
            }
            OptimizerShard shard = OptimizerShard.of(own, layout, shardLayout);
            rank0 = r == 0 ? shard : rank0;
            shards.add(cps.writeShard(target, shard));
        }
        return cps.commitShards(target, new TrainingState(0, step, step), block, rank0, layout, shards);
    }

    /**
     * Saved by 3 ranks with every parameter in one bucket, loaded into one bucket per parameter:
     * the state comes back bit for bit. A checkpoint with a corrupt or missing shard, or without a
     * manifest (a rank died before the commit), is passed over naming why; the next save removes
     * what was never committed.
     */
    @Test
    void aShardedCheckpointComesBackWholeUnderAnotherBucketingAndAnIncompleteOneIsPassedOver() throws Exception {
        List<String> log = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir, 2, log::add);
        try (Model a = model(8)) {
            Block block = a.getBlock();
            List<OptimizerState.Slice> oneBucket = new ArrayList<>();
            List<OptimizerState.Slice> perParameter = new ArrayList<>();
            int total = 0;
            int b = 0;
            for (var p : block.getParameters()) {
                int n = (int) p.getValue().getArray().size();
                oneBucket.add(new OptimizerState.Slice(p.getKey(), 0, total, n));
                perParameter.add(new OptimizerState.Slice(p.getKey(), b++, 0, n));
                total += n;
            }
            OptimizerState older = randomAdamW(new int[] {total}, oneBucket, 5, 1);
            OptimizerState saved = randomAdamW(new int[] {total}, oneBucket, 9, 2);
            writeSharded(cps, block, older, oneBucket, 5);
            Path newest = writeSharded(cps, block, saved, oneBucket, 9);
            assertTrue(log.get(1).endsWith("written (step 9, adamw state in 3 shards, one per rank)"), log.toString());
            try (var files = Files.list(newest)) {
                assertEquals(List.of("MANIFEST", "model.tyck", "optimizer-rank-00000-of-00003.tysh", "optimizer-rank-00001-of-00003.tysh",
                        "optimizer-rank-00002-of-00003.tysh"), files.map(f -> f.getFileName().toString()).sorted().toList());
            }

            OptimizerState loaded = randomAdamW(counts(block), perParameter, 0, 3);
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 9, 9)), cps.loadNewest(block, loaded));
            assertEquals(9, loaded.steps());
            assertEquals(Long.toHexString(saved.crc32()), Long.toHexString(loaded.crc32()), "bit-identical, parameter by parameter");
            assertTrue(log.get(0).contains("resuming from " + newest + " (epoch 1, step 9, adamw state crc32 " + Long.toHexString(saved.crc32())), log.toString());

            Path shard1 = newest.resolve("optimizer-rank-00001-of-00003.tysh");
            byte[] bytes = Files.readAllBytes(shard1);
            bytes[bytes.length / 2] ^= 1;
            Files.write(shard1, bytes);
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 5, 5)), cps.loadNewest(block, loaded));
            assertTrue(log.get(0).contains("optimizer-rank-00001-of-00003.tysh: checksum mismatch") && log.get(0).contains("falling back"), log.toString());
            assertEquals(older.crc32(), loaded.crc32());

            Files.delete(shard1);
            log.clear();
            cps.loadNewest(block, loaded);
            assertTrue(log.get(0).contains("optimizer-rank-00001-of-00003.tysh is missing"), log.toString());

            Files.delete(newest.resolve("MANIFEST"));
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 5, 5)), cps.loadNewest(block, loaded));
            assertTrue(log.get(0).contains("incomplete: it has no MANIFEST"), log.toString());

            writeSharded(cps, block, saved, oneBucket, 12);
            try (var files = Files.list(dir)) {
                assertEquals(List.of("checkpoint-000000000005", "checkpoint-000000000012"), files.map(f -> f.getFileName().toString()).sorted().toList(),
                        "the uncommitted directory is gone, the newest 2 committed ones stay");
            }

            Path manifest = dir.resolve("checkpoint-000000000012").resolve("MANIFEST");
            Files.write(manifest, Files.readAllLines(manifest).stream().filter(l -> !l.contains("optimizer-rank-00002")).toList());
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 5, 5)), cps.loadNewest(block, loaded));
            assertTrue(log.get(0).contains("a shard is missing from the manifest") && log.get(0).contains("does not fit"), log.toString());
        }
    }

    /** A header that passes the checksum can still claim anything: a count past any model is refused, not allocated. */
    @Test
    void aConsistentFileClaimingAbsurdCountsFallsBack() throws Exception {
        List<String> log = new ArrayList<>();
        Checkpoints cps = new Checkpoints(dir, 3, log::add);
        try (Model a = model(8)) {
            OptimizerState adam = Adam.adam(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0).newState(counts(a.getBlock()));
            cps.save(new TrainingState(0, 1, 1), a.getBlock(), adam);
            Path newest = cps.save(new TrainingState(0, 2, 2), a.getBlock(), adam);
            byte[] file = Files.readAllBytes(newest);
            byte[] kind = {0, 0, 0, 4, 'a', 'd', 'a', 'm'};
            int at = com.google.common.primitives.Bytes.indexOf(file, kind) + kind.length + Long.BYTES + Integer.BYTES; // past the kind, the step count and the slots
            java.nio.ByteBuffer.wrap(file).putInt(at, Integer.MAX_VALUE);
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            crc.update(file, 0, file.length - Long.BYTES);
            java.nio.ByteBuffer.wrap(file).putLong(file.length - Long.BYTES, crc.getValue());
            Files.write(newest, file);
            log.clear();
            assertEquals(Optional.of(new TrainingState(0, 1, 1)), cps.loadNewest(a.getBlock(), adam));
            assertTrue(log.get(0).contains("claims 2147483647 optimizer entries") && log.get(0).contains("falling back"), log.toString());
        }
    }

    /** A disk that fills up mid-write: the error says the previous checkpoint is valid, and it is; no temp file stays. */
    @Test
    void aFullDiskLeavesThePreviousCheckpointAndNoTempFile() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small-disk"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount.toString()).redirectErrorStream(true).start();
        String why = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            System.out.println("SKIPPED aFullDiskLeavesThePreviousCheckpointAndNoTempFile: cannot mount a small tmpfs here (needs root): " + why);
            org.junit.jupiter.api.Assumptions.abort("needs root to mount a tmpfs");
        }
        try (Model a = model(8)) {
            Checkpoints cps = new Checkpoints(mount.resolve("cps"), 3, s -> { });
            cps.save(new TrainingState(0, 1, 1), a.getBlock());
            // fill the disk but for a few bytes: the next checkpoint cannot fit
            try (var out = Files.newOutputStream(mount.resolve("filler"))) {
                byte[] block = new byte[1024];
                try {
                    while (true) {
                        out.write(block);
                        out.flush();
                    }
                } catch (java.io.IOException full) {
                    // the disk is full now
                }
            }
            java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class, () -> cps.save(new TrainingState(0, 2, 2), a.getBlock()));
            assertTrue(e.getMessage().contains("the previous checkpoint is still valid"), e.getMessage());
            try (var files = Files.list(mount.resolve("cps"))) {
                assertEquals(List.of("checkpoint-000000000001.tyck"), files.map(f -> f.getFileName().toString()).toList(), "no temp file left");
            }
            assertEquals(Optional.of(new TrainingState(0, 1, 1)), cps.loadNewest(a.getBlock()));
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }

    /** One bucket per parameter, as a stand-in for a bucket plan: the state only needs sizes. */
    private static int[] counts(Block b) {
        return b.getParameters().values().stream().mapToInt(p -> (int) p.getArray().size()).toArray();
    }

    @Test
    void optimizerStateRoundTripsExactly() throws Exception {
        Checkpoints cps = new Checkpoints(dir, 3, s -> { });
        try (Model a = model(8)) {
            int[] counts = counts(a.getBlock());
            OptimizerState saved = Adam.adamW(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0.01).newState(counts);
            java.util.SplittableRandom r = new java.util.SplittableRandom(5);
            for (int b = 0; b < counts.length; b++) {
                for (int s = 0; s < 2; s++) {
                    float[] x = saved.slot(b, s);
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian();
                    }
                }
            }
            saved.setSteps(41);
            cps.save(new TrainingState(0, 41, 41), a.getBlock(), saved);
            OptimizerState loaded = Adam.adamW(LearningRateSchedule.constant(1e-3), 0.9, 0.999, 1e-8, 0.01).newState(counts);
            assertEquals(Optional.of(new TrainingState(0, 41, 41)), cps.loadNewest(a.getBlock(), loaded));
            assertEquals(41, loaded.steps());
            for (int b = 0; b < counts.length; b++) {
                for (int s = 0; s < 2; s++) {
                    assertArrayEquals(saved.slot(b, s), loaded.slot(b, s));
                }
            }
        }
    }
}
