package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Fashion-MNIST example as a user runs it: two workers with AdamW, warm-up and cosine decay,
 * clipping and ZeRO-1; metrics and checkpoints in the run directory.
 */
class FashionMnistExampleTest {
    @TempDir
    Path tmp;

    @Test
    void trainsOnTwoWorkersAndWritesMetricsAndCheckpoints() throws Exception {
        Path run = tmp.resolve("run");
        try (LauncherProcess l = LauncherProcess.start(List.of("--nproc-per-node", "2", "--run-dir", run.toString(),
                "--example", "fashion-mnist", "--", "--epochs", "1", "--limit", "4000", "--checkpoint-every", "10",
                "--optimizer", "adamw", "--lr-schedule", "warmup-cosine", "--clip-norm", "1", "--zero", "1"))) {
            assertEquals(0, l.awaitExit(Duration.ofSeconds(180)), l.output());
            Matcher m = Pattern.compile("\\[rank 0] epoch 1/1 test accuracy (0\\.\\d+) \\(samples/s (\\d+)\\)").matcher(l.output());
            assertTrue(m.find(), l.output());
            assertTrue(Double.parseDouble(m.group(1)) > 0.6, "accuracy after 4000 samples: " + m.group(1));
            assertTrue(l.output().matches("(?s).*\\[rank 0] final parameter digest [0-9a-f]{8}\n.*"), l.output());
            assertTrue(l.output().contains("Trainyard's fused AdamW (lr warm-up 1 steps to 0.001, cosine to 0.0 at step 32")
                    && l.output().contains("gradients clipped to norm 1.0, state sharded over 2 ranks (ZeRO-1)"), l.output());
            for (int r = 0; r < 2; r++) {
                List<String> lines = Files.readAllLines(run.resolve("metrics-rank-" + r + ".jsonl"));
                assertEquals(32, lines.size(), "one line per step: 4000 samples / (2 x 64) rounded up");
                assertTrue(lines.get(5).matches("\\{\"rank\":" + r + ",\"attempt\":0,\"step\":6,\"samples\":64,\"data_wait_s\":.*\"bytes_allreduced\":940584,\"skipped\":false,\"wall_s\":.*}"),
                        lines.get(5));
            }
            try (var files = Files.list(run.resolve("checkpoints"))) {
                // ZeRO-1: a directory per checkpoint, one shard per rank, committed by its manifest
                assertEquals(3, files.filter(f -> Files.exists(f.resolve("MANIFEST")) && Files.exists(f.resolve("optimizer-rank-00001-of-00002.tysh")))
                        .count(), "keeps the newest 3");
            }
        }
    }

    /** The demo on a machine without the dataset: the console (not only a rank log) says the data is synthetic, at the start and in the summary. */
    @Test
    void withoutTheDatasetTheConsoleSaysTheDataIsSynthetic() throws Exception {
        Path missing = Files.createDirectories(tmp.resolve("no-fashion-mnist-here"));
        // the example's default directory moved to an empty one: the path a machine without dataset-fashion-mnist takes
        try (LauncherProcess l = LauncherProcess.startQuiet(List.of("--nproc-per-node", "2", "--run-dir", tmp.resolve("run").toString(),
                "--jvm-opt", "-Dtrainyard.fashionMnist.dir=" + missing, "--example", "fashion-mnist", "--", "--epochs", "1", "--limit", "1000"))) {
            assertEquals(0, l.awaitExit(Duration.ofSeconds(180)), l.output());
            String console = l.output();
            assertTrue(console.contains("trainyard: the job trains on SYNTHETIC data (synthetic, Fashion-MNIST's shape):"
                    + " its accuracy says nothing about real data"), console);
            assertTrue(console.matches("(?s).*trainyard: run: \\d+ samples in .*; last accuracy \\d\\.\\d+ on SYNTHETIC data.*"), console);
            assertTrue(console.lines().noneMatch(line -> line.startsWith("[rank ")), "worker output stays in the logs:\n" + console);
        }
    }
}
