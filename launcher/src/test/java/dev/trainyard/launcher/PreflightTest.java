package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    /**
     * {@code launch}'s default, the quick checks: links are not measured, a failing check stops the
     * job with exit 78. The next launch on this host (same user cache) then runs the full checks,
     * every link measured; they pass and hand their group to the job: one connection per start
     * (rank 0 chooses the backend once), training runs on it, and the report's start-up split
     * still adds up, the job's rendezvous now inside preflight.
     */
    @Test
    void aFailingCheckStopsTheJobAndTheNextRunChecksEveryLinkThenTrainsOnTheSameGroup() throws Exception {
        Map<String, String> cache = Map.of("TRAINYARD_CACHE_DIR", tmp.resolve("cache").toString());
        try (LauncherProcess l = LauncherProcess.start("launch", List.of("--nproc-per-node", "3", "--run-dir", tmp.resolve("failed").toString(),
                "--min-free-disk", "100000g", "--example", "fashion-mnist", "--", "--data", tmp.toString()), cache)) {
            assertEquals(78, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("[rank 0] preflight: 3 rank(s)") && out.contains(", FAILED"), out);
            assertTrue(out.matches("(?s).*\\[rank 0]   disk +FAIL .* free in .* \\(need 100000\\.0 GiB\\); free space there or choose another --run-dir.*"), out);
            assertTrue(out.contains("dataset     FAIL --data " + tmp + " does not hold the four Fashion-MNIST IDX files"), out);
            assertTrue(out.contains("exit code 78 (preflight failed"), out);
            assertTrue(!out.contains("epoch 1"), "no training after a failed preflight:\n" + out);
            assertTrue(out.matches("(?s).*\\[rank 0]   links +SKIP not measured in the quick checks; 'launch --preflight full' .*"), out);
            assertTrue(!out.contains("link 0-1"), "the quick checks measure no link:\n" + out);
        }
        Path run = tmp.resolve("next");
        try (LauncherProcess l = LauncherProcess.start("launch", List.of("--nproc-per-node", "3", "--run-dir", run.toString(),
                TrainingWorker.class.getName(), "--batch", "8", "--samples", "96", "--epochs", "1"), cache)) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("trainyard: the previous run on this host failed (" + tmp.resolve("failed").toAbsolutePath()
                    + ": rank ") && out.contains("preflight measures every ring link this time"), out);
            assertTrue(out.matches("(?s).*\\[rank 0]   link 2-0 +OK .*") && out.contains("all checks passed"), out);
            String log = Files.readString(run.resolve("rank-0.log"));
            // every Trainyard.init chooses the backend and says so on rank 0 (the link probes' pairs do not)
            assertEquals(1, log.split("backend auto: ", -1).length - 1, "one group connected:\n" + log);
            assertTrue(log.contains("final digest"), log);
            JsonObject first = JsonParser.parseString(Files.readString(run.resolve("report.json"))).getAsJsonObject()
                    .getAsJsonArray("time_to_first_step").get(0).getAsJsonObject();
            double parts = 0;
            for (String part : List.of("jvm_start_s", "engine_load_s", "preflight_s", "rendezvous_s", "setup_and_first_step_s")) {
                assertTrue(first.get(part).getAsDouble() >= 0, first.toString());
                parts += first.get(part).getAsDouble();
            }
            assertEquals(first.get("total_s").getAsDouble(), parts, 0.01, first.toString());
            assertTrue(first.get("preflight_s").getAsDouble() > 0 && first.get("rendezvous_s").getAsDouble() > 0, first.toString());
        }
        assertTrue(!Files.exists(tmp.resolve("cache").resolve("last-run-failed")), "a run that succeeded clears the failure");
    }
}
