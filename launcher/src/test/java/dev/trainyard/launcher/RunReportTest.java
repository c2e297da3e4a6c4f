package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report of a real 2-worker training run in which rank 1 is SIGKILLed once and the group
 * restarts from its checkpoint: its numbers are checked against the metrics files and the
 * training's own arithmetic (512 samples, 2 epochs), and the HTML is rendered by headless Chromium.
 */
class RunReportTest {
    private static final Duration RUN = Duration.ofSeconds(180);
    @TempDir
    static Path tmp;
    private static Path run;
    private static String console;
    private static JsonObject report;

    @BeforeAll
    static void trainWithOneForcedRestart() throws Exception {
        run = tmp.resolve("run");
        try (LauncherProcess l = LauncherProcess.start(List.of("--nproc-per-node", "2", "--max-restarts", "1", "--trace", "full",
                "--run-dir", run.toString(), TrainingWorker.class.getName(),
                "--batch", "8", "--samples", "512", "--epochs", "2", "--checkpoint-every", "8", "--step-delay-ms", "20", "--optimizer", "adam"))) {
            l.awaitLines(s -> s.startsWith("[rank 1] step 13 digest"), 1, RUN);
            ProcessHandle.of(l.pidOfRank(1)).orElseThrow().destroyForcibly();
            assertEquals(0, l.awaitExit(RUN), l.output());
            console = l.output();
        }
        report = JsonParser.parseString(Files.readString(run.resolve("report.json"))).getAsJsonObject();
    }

    @Test
    void theLauncherPrintsWhereTheReportIs() {
        assertTrue(console.contains("trainyard: report: " + run.resolve("report.html")), console);
        assertTrue(console.matches("(?s).*trainyard: run: 1024 samples in .* 1 restart\\(s\\), \\d+ step\\(s\\) redone, 0 skipped.*"), console);
    }

    @Test
    void samplesRestartsAndRedoneStepsMatchTheRun() throws Exception {
        // 512 samples, 2 ranks x batch 8, 2 epochs: every sample trained once per epoch, redone steps not counted
        assertEquals(1024, report.getAsJsonObject("throughput").get("samples").getAsLong());
        JsonObject scrap = report.getAsJsonObject("scrap");
        assertEquals(1, scrap.get("restarts").getAsInt());
        assertEquals(1, scrap.get("failed_attempts").getAsInt());
        assertEquals(2, report.getAsJsonObject("run").get("attempts").getAsInt());
        assertTrue(scrap.getAsJsonArray("failures").get(0).getAsString().contains("exit code 137"), scrap.toString());
        // independently: the steps rank 0 ran in attempt 1 beyond the checkpoint attempt 2 resumed from
        long lastOfFirst = 0;
        long firstOfSecond = Long.MAX_VALUE;
        for (String line : Files.readAllLines(run.resolve("metrics-rank-0.jsonl"))) {
            JsonObject m = JsonParser.parseString(line).getAsJsonObject();
            long step = m.get("step").getAsLong();
            if (m.get("attempt").getAsInt() == 0) {
                lastOfFirst = Math.max(lastOfFirst, step);
            } else {
                firstOfSecond = Math.min(firstOfSecond, step);
            }
        }
        assertTrue(firstOfSecond == 9 || firstOfSecond == 17, "resumed after a checkpoint every 8 steps: " + firstOfSecond);
        assertEquals(lastOfFirst - (firstOfSecond - 1), scrap.get("steps_redone").getAsLong());
        assertTrue(scrap.get("compute_seconds_lost").getAsDouble() > 0, scrap.toString());
        assertEquals(0, scrap.get("skipped_steps").getAsInt());
    }

    @Test
    void eachRanksBreakdownSumsToItsStepTime() {
        JsonArray ranks = report.getAsJsonObject("ranks").getAsJsonArray("per_rank");
        assertEquals(2, ranks.size());
        for (JsonElement e : ranks) {
            JsonObject r = e.getAsJsonObject();
            double step = r.get("step_time_s").getAsDouble();
            double sum = r.get("breakdown_sum_s").getAsDouble();
            assertTrue(step > 0 && Math.abs(sum - step) <= 0.05 * step, "rank " + r.get("rank") + ": phases " + sum + " s vs steps " + step + " s");
            assertEquals(64, r.get("steps").getAsInt(), "2 epochs x 32 steps kept");
            // Adam keeps two floats per parameter: 24x48+48 + 48x32+32 + 32x5+5 = 2,933 parameters
            assertEquals(2 * 2933 * 4, r.get("optimizer_state_bytes").getAsLong(), r.toString());
            double rss = r.get("peak_rss_bytes").getAsDouble();
            assertTrue(rss > 50e6 && rss < 8e9, "peak RSS of a worker JVM with libtorch: " + rss);
        }
        assertTrue(report.getAsJsonObject("ranks").has("straggler_rank"));
        JsonObject comm = report.getAsJsonObject("communication");
        assertTrue(comm.get("bytes_allreduced").getAsDouble() > 0 && comm.get("busbw_GBps").getAsDouble() > 0, comm.toString());
        JsonArray first = report.getAsJsonArray("time_to_first_step");
        assertEquals(2, first.size(), "one per attempt");
        JsonObject a = first.get(0).getAsJsonObject();
        double parts = a.get("jvm_start_s").getAsDouble() + a.get("engine_load_s").getAsDouble() + a.get("preflight_s").getAsDouble()
                + a.get("rendezvous_s").getAsDouble() + a.get("setup_and_first_step_s").getAsDouble();
        assertTrue(Math.abs(parts - a.get("total_s").getAsDouble()) < 0.01 && a.get("jvm_start_s").getAsDouble() > 0
                && a.get("rendezvous_s").getAsDouble() > 0, a.toString());
        assertEquals(2, report.getAsJsonObject("cycle_time").getAsJsonArray("epochs").size());
        assertTrue(report.getAsJsonObject("energy").has("note"));
    }

    @Test
    void theTimelineHasEveryTrack() throws Exception {
        JsonArray events = JsonParser.parseString(Files.readString(run.resolve("timeline.json"))).getAsJsonObject().getAsJsonArray("traceEvents");
        for (String name : List.of("forward stage 0", "backward stage 2", "all-reduce bucket 0", "optimizer (step 1)", "data wait (step 64)",
                "checkpoint (attempt 1)", "checkpoint (attempt 2)", "rendezvous (attempt 2)", "attempt 1: failed", "attempt 2: ok")) {
            assertTrue(count(events, name) > 0, "no '" + name + "' event");
        }
        for (int rank = 0; rank < 2; rank++) {
            int r = rank;
            assertTrue(events.asList().stream().anyMatch(e -> e.getAsJsonObject().get("pid").getAsInt() == r
                    && e.getAsJsonObject().get("name").getAsString().startsWith("all-reduce bucket")), "rank " + r);
        }
    }

    @Test
    void reportCommandRegeneratesWithABaseline() throws Exception {
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new java.io.PrintStream(captured, true));
            code = TrainyardCli.execute("report", run.toString(), "--baseline", run.toString(), "--target-accuracy", "0.5");
        } finally {
            System.setErr(err);
        }
        assertEquals(0, code, captured.toString());
        JsonObject again = JsonParser.parseString(Files.readString(run.resolve("report.json"))).getAsJsonObject();
        assertEquals(1.0, again.getAsJsonObject("scaling").get("efficiency").getAsDouble(), 1e-9, "a run against itself");
        assertTrue(again.getAsJsonObject("cycle_time").has("time_to_target_s"));
    }

    @Test
    void theHtmlRendersInHeadlessChromium() throws Exception {
        String html = Files.readString(run.resolve("report.html"));
        assertTrue(html.split("<svg", -1).length - 1 >= 3 && !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""),
                "self-contained: inline SVG, no external resources");
        String why = Files.isExecutable(Path.of("/usr/bin/chromium")) ? null : "chromium is not installed (apt-get install chromium)";
        if (why != null) {
            System.out.println("SKIPPED RunReportTest.theHtmlRendersInHeadlessChromium: " + why);
        }
        assumeTrue(why == null, why);
        Path script = Path.of(System.getProperty("user.dir")).getParent().resolve("scripts/check-report.sh");
        Process p = new ProcessBuilder(script.toString(), run.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.matches("(?s).*check-report: \\d+ charts rendered, no console errors.*"), out);
        assertTrue(Files.size(run.resolve("report.png")) > 10_000, "screenshot size");
    }

    private static long count(JsonArray events, String prefix) {
        List<JsonElement> l = new ArrayList<>(events.asList());
        return l.stream().filter(e -> e.getAsJsonObject().get("name").getAsString().startsWith(prefix)).count();
    }
}
