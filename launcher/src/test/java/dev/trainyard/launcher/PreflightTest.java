package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code trainyard preflight} and the preflight {@code launch} runs before the first step, with real workers. */
class PreflightTest {
    private static final Duration RUN = Duration.ofSeconds(120);
    private static final List<String> CHECKS = List.of("java", "engine", "backend", "disk", "dataset", "peers", "all-reduce", "link 0-1", "link 1-2", "link 2-0");

    @TempDir
    Path tmp;

    private LauncherProcess start(String command, String... more) {
        List<String> args = new ArrayList<>(List.of("--nproc-per-node", "3", "--run-dir", tmp.resolve("run").toString()));
        args.addAll(List.of(more));
        return LauncherProcess.start(command, args);
    }

    @Test
    void passesWithOneTableOfEveryCheckInSeconds() throws Exception {
        long t0 = System.nanoTime();
        try (LauncherProcess l = start("preflight", "--example", "fashion-mnist")) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            double seconds = (System.nanoTime() - t0) / 1e9;
            String out = l.output();
            assertTrue(out.contains("[rank 0] preflight: 3 rank(s), ") && out.contains(", all checks passed"), out);
            for (String check : CHECKS) {
                assertTrue(out.matches("(?s).*\\[rank 0]   " + check + " +(OK|SKIP|WARN) .*"), check + " missing or failed:\n" + out);
            }
            assertTrue(out.contains("all-reduce  OK   1048576 floats summed over 3 ranks, result exact"), out);
            assertTrue(out.contains("trainyard: preflight passed on all 3 workers"), out);
            assertTrue(!out.contains("epoch"), "preflight must not train:\n" + out);
            System.out.printf("preflight of 3 workers took %.1f s including JVM starts%n", seconds);
        }
    }

    /** {@code launch}'s default, the quick checks: links are not measured ({@code trainyard preflight} above does). */
    @Test
    void aFailingCheckStopsTheJobWithItsReasonAndExit78() throws Exception {
        try (LauncherProcess l = start("launch", "--min-free-disk", "100000g", "--example", "fashion-mnist", "--", "--data", tmp.toString())) {
            assertEquals(78, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("[rank 0] preflight: 3 rank(s)") && out.contains(", FAILED"), out);
            assertTrue(out.matches("(?s).*\\[rank 0]   disk +FAIL .* free in .* \\(need 100000\\.0 GiB\\); free space there or choose another --run-dir.*"), out);
            assertTrue(out.contains("dataset     FAIL --data " + tmp + " does not hold the four Fashion-MNIST IDX files"), out);
            assertTrue(out.contains("exit code 78 (preflight failed"), out);
            assertTrue(out.matches("(?s).*\\[rank 0]   links +SKIP not measured in the quick checks; 'launch --preflight full' .*"), out);
            assertTrue(!out.contains("link 0-1"), "the quick checks measure no link:\n" + out);
            assertTrue(!out.contains("epoch 1"), "no training after a failed preflight:\n" + out);
        }
    }
}
