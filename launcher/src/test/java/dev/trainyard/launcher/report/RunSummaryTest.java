package dev.trainyard.launcher.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The console's one-line summary never misleads: synthetic data is said beside the accuracy; a job that trained nothing gets no throughput. */
class RunSummaryTest {
    @TempDir
    Path tmp;

    private static final String STEP = "{\"rank\":0,\"attempt\":0,\"step\":1,\"samples\":64,\"data_wait_s\":0,\"forward_s\":0.001,\"loss_s\":0,"
            + "\"backward_s\":0.002,\"other_s\":0,\"exposed_comm_s\":0,\"optimizer_s\":0.0005,\"comm_s\":0,\"bytes_allreduced\":0,"
            + "\"skipped\":false,\"wall_s\":0.0035,\"t_end_us\":1003500}";

    private Path run(String name, boolean synthetic, boolean trained) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        if (trained) {
            Files.write(dir.resolve("metrics-rank-0.jsonl"), List.of(STEP));
        }
        Files.write(dir.resolve("events-rank-0.jsonl"), List.of(
                "{\"event\":\"dataset\",\"name\":\"" + (synthetic ? "synthetic" : "Fashion-MNIST") + "\",\"samples\":64,\"synthetic\":"
                        + synthetic + ",\"t_us\":1000000,\"rank\":0,\"attempt\":0}",
                "{\"event\":\"metric\",\"name\":\"accuracy\",\"value\":1.0,\"t_us\":1003600,\"rank\":0,\"attempt\":0}"));
        return dir;
    }

    @Test
    void anAccuracyOnSyntheticDataSaysSoInTheSummaryAndTheReport() throws IOException {
        Path dir = run("synthetic", true, true);
        String summary = RunReports.write(dir, null, OptionalDouble.empty());
        assertTrue(summary.contains("last accuracy 1.000 on SYNTHETIC data"), summary);
        JsonObject report = JsonParser.parseString(Files.readString(dir.resolve("report.json"))).getAsJsonObject();
        assertTrue(report.getAsJsonObject("cycle_time").getAsJsonObject("dataset").get("synthetic").getAsBoolean());

        String real = RunReports.write(run("real", false, true), null, OptionalDouble.empty());
        assertTrue(real.contains("last accuracy 1.000") && !real.contains("SYNTHETIC"), real);
    }

    @Test
    void aJobThatTrainedNothingReportsNoThroughput() throws IOException {
        String summary = RunReports.write(run("nothing", false, false), null, OptionalDouble.empty());
        assertTrue(summary.startsWith("no training steps recorded in "), summary);
        assertFalse(summary.contains("samples/s"), summary);
        assertEquals(-1, summary.indexOf("accuracy"), summary);
    }
}
