package dev.trainyard.launcher.report;

import dev.trainyard.runtime.RunLayout;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.OptionalDouble;

/** Writes {@code report.json}, {@code report.html} and {@code timeline.json} into a run directory. */
public final class RunReports {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeNulls().create();

    private RunReports() {
    }

    /**
     * @param baseline another run directory to compute scaling efficiency against, or null
     * @return one line summing the run up, for the console
     */
    public static String write(Path runDir, Path baseline, OptionalDouble targetAccuracy) throws IOException {
        RunFiles run = RunFiles.load(runDir);
        JsonObject report = RunReport.compute(run, baseline == null ? null : RunFiles.load(baseline), targetAccuracy);
        atomically(RunLayout.reportJson(runDir), GSON.toJson(report));
        atomically(RunLayout.reportHtml(runDir), ReportHtml.render(report));
        atomically(RunLayout.timeline(runDir), new Gson().toJson(Timeline.of(run)));
        JsonObject thr = report.getAsJsonObject("throughput");
        JsonObject scrap = report.getAsJsonObject("scrap");
        JsonObject cycle = report.getAsJsonObject("cycle_time");
        var accuracy = cycle.getAsJsonArray("accuracy");
        double wall = report.getAsJsonObject("run").get("wall_s").getAsDouble();
        String incomplete = incompleteNote(report.getAsJsonObject("run").getAsJsonArray("incomplete_records"));
        if (thr.get("samples").getAsLong() == 0) {
            // a job that trained nothing (a benchmark of collectives, a failed start) has no throughput to report
            return String.format(Locale.ROOT, "no training steps recorded in %.1f s, %d restart(s)", wall, scrap.get("restarts").getAsInt())
                    + incomplete;
        }
        boolean synthetic = cycle.has("dataset") && cycle.getAsJsonObject("dataset").get("synthetic").getAsBoolean();
        return String.format(Locale.ROOT, "%d samples in %.1f s (%.0f samples/s in training steps), %d restart(s), %d step(s) redone, %d skipped%s%s",
                thr.get("samples").getAsLong(), wall,
                thr.get("samples_per_s_training").getAsDouble(), scrap.get("restarts").getAsInt(),
                scrap.get("steps_redone").getAsInt(), scrap.get("skipped_steps").getAsInt(), accuracy.isEmpty() ? ""
                        : String.format(Locale.ROOT, "; last accuracy %.3f%s", accuracy.get(accuracy.size() - 1).getAsJsonObject().get("accuracy").getAsDouble(),
                                synthetic ? " on SYNTHETIC data" : ""),
                report.has("scaling") ? "; " + growthLine(report.getAsJsonObject("scaling")) : "")
                + incomplete;
    }

    private static String incompleteNote(com.google.gson.JsonArray incomplete) {
        return incomplete.isEmpty() ? "" : "; INCOMPLETE: " + incomplete + " stopped early (the worker could not append, see its log),"
                + " so these figures are lower bounds";
    }

    /** Against the baseline: speed-up, and per rank the step's growth and the phase that grew most. */
    private static String growthLine(JsonObject scaling) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%.2fx the baseline's samples/s (efficiency %.0f %%)",
                scaling.get("speedup").getAsDouble(), scaling.get("efficiency").getAsDouble() * 100));
        for (var e : scaling.getAsJsonArray("phase_growth")) {
            JsonObject g = e.getAsJsonObject();
            String most = g.get("grew_most").getAsString();
            double mostGrowth = g.getAsJsonObject("growth_per_step_s").get(most.replace(' ', '_') + "_s").getAsDouble();
            sb.append(String.format(Locale.ROOT, "; rank %d: step %+.2f ms, most in %s (%+.2f ms)", g.get("rank").getAsInt(),
                    g.get("step_growth_s").getAsDouble() * 1e3, most, mostGrowth * 1e3));
        }
        return sb.toString();
    }

    private static void atomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
