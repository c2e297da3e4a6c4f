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
    void refusesACheckpointOfAnotherModel() {
        Checkpoints cps = new Checkpoints(dir, 3, s -> { });
        try (Model a = model(8); Model other = model(16)) {
            cps.save(new TrainingState(0, 1, 1), a.getBlock());
            assertTrue(assertThrows(IllegalStateException.class, () -> cps.loadNewest(other.getBlock())).getMessage()
                    .contains("it belongs to another model"));
        }
    }
}
