package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a user sees while a job runs: one progress line instead of worker noise, and the Prometheus endpoint. */
class ProgressTest {
    private static final Pattern ENDPOINT = Pattern.compile("metrics for Prometheus: (http://127\\.0\\.0\\.1:\\d+/metrics)");
    private static final Pattern STEP = Pattern.compile("(?m)^trainyard_optimizer_steps_total (\\d+\\.\\d+)");

    @TempDir
    Path tmp;

    @Test
    void oneProgressLineOnTheConsoleAndMetricsForPrometheus() throws Exception {
        Path run = tmp.resolve("run");
        try (LauncherProcess l = LauncherProcess.startQuiet(List.of("--nproc-per-node", "2", "--metrics-port", "0", "--run-dir", run.toString(),
                TrainingWorker.class.getName(), "--batch", "8", "--samples", "1024", "--epochs", "2", "--step-delay-ms", "60"))) {
            l.awaitLines(s -> ENDPOINT.matcher(s).find(), 1, Duration.ofSeconds(60));
            Matcher m = ENDPOINT.matcher(l.output());
            assertTrue(m.find());
            HttpClient http = HttpClient.newHttpClient();
            String body = "";
            double step = 0;
            for (long deadline = System.nanoTime() + 60_000_000_000L; step == 0 && System.nanoTime() < deadline; Thread.sleep(500)) {
                body = http.send(HttpRequest.newBuilder(URI.create(m.group(1))).build(), HttpResponse.BodyHandlers.ofString()).body();
                Matcher s = STEP.matcher(body);
                step = s.find() ? Double.parseDouble(s.group(1)) : 0;
            }
            assertTrue(step > 0, "no step in the metrics:\n" + body);
            assertTrue(body.contains("# TYPE trainyard_optimizer_steps_total counter") && body.contains("trainyard_samples_per_second ")
                    && body.contains("trainyard_attempts_total 1.0") && body.contains("trainyard_eta_seconds ")
                    && body.contains("trainyard_slowest_rank ") && body.contains("trainyard_slowest_rank_excess_busy_ratio "), body);
            assertEquals(0, l.awaitExit(Duration.ofSeconds(120)), l.output());
            String out = l.output();
            assertTrue(out.lines().noneMatch(line -> line.startsWith("[rank ")), "worker output belongs in the logs:\n" + out);
            assertTrue(out.matches("(?s).*trainyard: epoch [12]/2, step \\d+/128, [\\d,]+ samples/s, ETA \\d+:\\d\\d, slowest rank [01] \\([+-]\\d+%\\).*"), out);
            assertTrue(Files.readString(run.resolve("rank-1.log")).contains("ready rank 1"), "the log has it");
            assertEquals(1, out.lines().filter(line -> line.equals(
                    "trainyard: collectives: grpc backend, tensors over shared-memory on this host (TCP between hosts)")).count(),
                    "what the workers chose, said once:\n" + out);
        }
    }
}
