package dev.trainyard.launcher.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.trainyard.runtime.JsonLinesFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The report against a baseline says per rank how much each phase grew and which grew most. */
class PhaseGrowthTest {
    @TempDir
    Path tmp;

    @Test
    void eachRanksGrowthIsItsPhaseMinusTheBaselinesMeanRank() throws IOException {
        // baseline: 1 rank, forward 1 ms, backward 2 ms, optimizer 0.5 ms per step
        Path base = run("base", new double[][] {{0, 0.001, 0, 0.002, 0, 0, 0.0005}});
        // 2 ranks: rank 0 pays 3 ms of exposed communication, rank 1 a slower backward (+1.5 ms) and 1 ms of communication
        Path two = run("two", new double[][] {{0, 0.001, 0, 0.002, 0, 0.003, 0.0005}, {0, 0.001, 0, 0.0035, 0, 0.001, 0.0005}});
        JsonObject report = RunReport.compute(RunFiles.load(two), RunFiles.load(base), OptionalDouble.empty());
        JsonArray growth = report.getAsJsonObject("scaling").getAsJsonArray("phase_growth");
        assertEquals(2, growth.size());
        JsonObject r0 = growth.get(0).getAsJsonObject();
        assertEquals("exposed comm", r0.get("grew_most").getAsString());
        assertEquals(0.003, r0.getAsJsonObject("growth_per_step_s").get("exposed_comm_s").getAsDouble(), 1e-9);
        assertEquals(0.0, r0.getAsJsonObject("growth_per_step_s").get("backward_s").getAsDouble(), 1e-9);
        assertEquals(0.003, r0.get("step_growth_s").getAsDouble(), 1e-9);
        JsonObject r1 = growth.get(1).getAsJsonObject();
        assertEquals("backward", r1.get("grew_most").getAsString());
        assertEquals(0.0015, r1.getAsJsonObject("growth_per_step_s").get("backward_s").getAsDouble(), 1e-9);
        assertEquals(0.0025, r1.get("step_growth_s").getAsDouble(), 1e-9);
        String html = ReportHtml.render(report);
        assertTrue(html.contains("+3.000") && html.contains("grew most"), "the HTML shows the growth table");
    }

    @Test
    void aRecordAWorkerCouldNotFinishMakesTheReportSayIncomplete() throws IOException {
        Path dir = run("full-disk", new double[][] {{0, 0.001, 0, 0.002, 0, 0, 0.0005}, {0, 0.001, 0, 0.002, 0, 0, 0.0005}});
        Files.createFile(JsonLinesFile.incompleteMarker(dir.resolve("metrics-rank-1.jsonl")));
        String summary = RunReports.write(dir, null, OptionalDouble.empty());
        assertTrue(summary.contains("INCOMPLETE: [\"metrics-rank-1.jsonl\"] stopped early"), summary);
        assertTrue(Files.readString(dir.resolve("report.json")).contains("\"incomplete_records\": [\n      \"metrics-rank-1.jsonl\""));
        assertTrue(Files.readString(dir.resolve("report.html")).contains("Incomplete:"));
    }

    /** A run directory with 10 identical steps per rank; phases in the order of {@link RunReport#PHASES}. */
    private Path run(String name, double[][] phasesPerRank) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (int rank = 0; rank < phasesPerRank.length; rank++) {
            double[] p = phasesPerRank[rank];
            double wall = 0;
            for (double v : p) {
                wall += v;
            }
            List<String> lines = new ArrayList<>();
            long end = 1_000_000;
            for (int step = 1; step <= 10; step++) {
                end += Math.round(wall * 1e6);
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "{\"rank\":%d,\"attempt\":0,\"step\":%d,\"samples\":64", rank, step));
                for (int k = 0; k < p.length; k++) {
                    sb.append(String.format(Locale.ROOT, ",\"%s\":%.7f", RunReport.PHASES[k], p[k]));
                }
                sb.append(String.format(Locale.ROOT, ",\"comm_s\":0,\"bytes_allreduced\":0,\"skipped\":false,\"wall_s\":%.7f,\"t_end_us\":%d}", wall, end));
                lines.add(sb.toString());
            }
            Files.write(dir.resolve("metrics-rank-" + rank + ".jsonl"), lines);
        }
        return dir;
    }
}
