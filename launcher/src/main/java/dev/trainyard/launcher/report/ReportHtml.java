package dev.trainyard.launcher.report;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code report.html}: the report as one self-contained page (inline CSS and SVG, no script, no
 * network), so it opens anywhere a run directory is copied to.
 */
public final class ReportHtml {
    private final StringBuilder html = new StringBuilder();

    private ReportHtml() {
    }

    static String render(JsonObject r) {
        ReportHtml h = new ReportHtml();
        JsonObject run = r.getAsJsonObject("run");
        JsonObject thr = r.getAsJsonObject("throughput");
        h.html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Trainyard run report</title>\n")
                .append("<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}"
                        + "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}"
                        + "th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}h2{margin-top:1.6em}.note{color:#666}</style>\n")
                .append("</head><body>\n<h1>Trainyard run report</h1>\n");
        h.para(esc(r.get("run_dir").getAsString()));
        JsonArray incomplete = run.getAsJsonArray("incomplete_records");
        if (!incomplete.isEmpty()) {
            h.para("<b>Incomplete:</b> " + esc(incomplete.toString()) + " stopped early (the worker could not append, see its log);"
                    + " the figures below are lower bounds.");
        }
        h.table(List.of("", ""), List.of(
                row("outcome", run.get("outcome").getAsString()),
                row("ranks", run.get("ranks").getAsString()),
                row("attempts", run.get("attempts").getAsString()),
                row("wall time", fmt(run.get("wall_s")) + " s"),
                row("samples trained", thr.get("samples").getAsString()),
                row("throughput (whole run)", fmt(thr.get("samples_per_s_overall")) + " samples/s"),
                row("throughput (training steps)", fmt(thr.get("samples_per_s_training")) + " samples/s")));

        h.html.append("<h2>Throughput over time</h2>\n");
        JsonArray over = thr.getAsJsonArray("over_time");
        if (over.size() > 1) {
            double[] x = new double[over.size()];
            double[] y = new double[over.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = over.get(i).getAsJsonObject().get("t_s").getAsDouble();
                y[i] = over.get(i).getAsJsonObject().get("samples_per_s").getAsDouble();
            }
            h.html.append(SvgChart.lines("Samples per second, all ranks", "seconds since launch", "samples/s", x,
                    List.of(new SvgChart.Series("throughput", y)), false));
        }

        h.cycleTime(r.getAsJsonObject("cycle_time"));
        h.firstStep(r.getAsJsonArray("time_to_first_step"));
        h.ranks(r.getAsJsonObject("ranks"));
        h.communication(r.getAsJsonObject("communication"));
        h.scrap(r.getAsJsonObject("scrap"));
        JsonObject energy = r.getAsJsonObject("energy");
        h.html.append("<h2>Energy</h2>\n");
        h.para(energy.get("available").getAsBoolean()
                ? fmt(energy.get("joules")) + " J, " + fmt(energy.get("joules_per_sample")) + " J per sample (" + esc(energy.get("note").getAsString()) + ")"
                : "unavailable: " + esc(energy.get("note").getAsString()));
        if (r.has("scaling")) {
            JsonObject s = r.getAsJsonObject("scaling");
            h.html.append("<h2>Scaling</h2>\n");
            h.table(List.of("", ""), List.of(row("baseline", s.get("baseline_dir").getAsString() + " (" + s.get("baseline_ranks") + " ranks, "
                            + fmt(s.get("baseline_samples_per_s")) + " samples/s)"), row("speedup", fmt(s.get("speedup")) + "×"),
                    row("scaling efficiency", pct(s.get("efficiency")))));
            phaseGrowth(h, s.getAsJsonArray("phase_growth"));
        }
        h.html.append("<h2>Timeline</h2>\n");
        h.para("<code>timeline.json</code> beside this file: open it at ui.perfetto.dev or chrome://tracing "
                + "(one process per rank: step phases, stages, one track per bucket all-reduce, start-up and checkpoints; the launchers' attempts).");
        h.html.append("</body></html>\n");
        return h.html.toString();
    }

    private void cycleTime(JsonObject c) {
        html.append("<h2>Cycle time</h2>\n");
        List<List<String>> rows = new ArrayList<>();
        for (JsonElement e : c.getAsJsonArray("epochs")) {
            rows.add(row("epoch " + e.getAsJsonObject().get("epoch").getAsInt(), fmt(e.getAsJsonObject().get("seconds")) + " s"));
        }
        for (JsonElement e : c.getAsJsonArray("accuracy")) {
            rows.add(row("accuracy reported at " + fmt(e.getAsJsonObject().get("t_s")) + " s", fmt(e.getAsJsonObject().get("accuracy"))));
        }
        if (c.has("target_accuracy")) {
            rows.add(row("time to accuracy " + fmt(c.get("target_accuracy")), c.get("time_to_target_s").isJsonNull()
                    ? "not reached" : fmt(c.get("time_to_target_s")) + " s"));
        }
        if (rows.isEmpty()) {
            para("no epoch ended (the job does not use TrainingLoop, or stopped early)");
        } else {
            table(List.of("", ""), rows);
        }
    }

    private void firstStep(JsonArray attempts) {
        html.append("<h2>Time to first step</h2>\n");
        if (attempts.isEmpty()) {
            para("no step was recorded");
            return;
        }
        String[][] parts = {{"jvm_start_s", "JVM start"}, {"engine_load_s", "engine load"}, {"preflight_s", "preflight"},
                {"rendezvous_s", "rendezvous"}, {"setup_and_first_step_s", "model setup and first step"}};
        List<String> categories = new ArrayList<>();
        List<SvgChart.Series> series = new ArrayList<>();
        for (String[] p : parts) {
            double[] v = new double[attempts.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = attempts.get(i).getAsJsonObject().get(p[0]).getAsDouble();
            }
            series.add(new SvgChart.Series(p[1], v));
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonElement e : attempts) {
            JsonObject a = e.getAsJsonObject();
            categories.add("attempt " + a.get("attempt").getAsInt());
            List<String> row = new ArrayList<>(List.of("attempt " + a.get("attempt").getAsInt(), fmt(a.get("total_s"))));
            for (String[] p : parts) {
                row.add(fmt(a.get(p[0])));
            }
            rows.add(row);
        }
        List<String> head = new ArrayList<>(List.of("", "total s"));
        for (String[] p : parts) {
            head.add(p[1] + " s");
        }
        table(head, rows);
        html.append(SvgChart.bars("Launch to the end of rank 0's first step", "seconds", categories, series, true));
    }

    /** Milliseconds per step each phase grew on each rank against the baseline, and the phase that grew most. */
    private static void phaseGrowth(ReportHtml h, JsonArray growth) {
        List<String> head = new ArrayList<>(List.of("", "step"));
        for (String p : RunReport.PHASES) {
            head.add(p.replace("_s", "").replace('_', ' '));
        }
        head.add("grew most");
        List<List<String>> rows = new ArrayList<>();
        for (JsonElement e : growth) {
            JsonObject g = e.getAsJsonObject();
            List<String> row = new ArrayList<>(List.of("rank " + g.get("rank").getAsInt(), ms(g.get("step_growth_s").getAsDouble())));
            for (String p : RunReport.PHASES) {
                row.add(ms(g.getAsJsonObject("growth_per_step_s").get(p).getAsDouble()));
            }
            row.add(esc(g.get("grew_most").getAsString()));
            rows.add(row);
        }
        h.para("Growth of each phase per step against the baseline's mean rank, in milliseconds (+ slower, − faster):");
        h.table(head, rows);
    }

    /** A byte figure in MiB, or "-" where the rank did not report it (DJL's optimizer path keeps no state we can count). */
    private static String mib(JsonObject r, String key) {
        return r.has(key) ? String.format(Locale.ROOT, "%.1f", r.get(key).getAsDouble() / (1 << 20)) : "-";
    }

    private static String ms(double seconds) {
        return String.format(Locale.ROOT, "%+.3f", seconds * 1e3);
    }

    private void ranks(JsonObject ranks) {
        html.append("<h2>Where the time went</h2>\n");
        JsonArray per = ranks.getAsJsonArray("per_rank");
        String[][] parts = {{"data_wait_s", "data wait"}, {"compute_s", "compute"}, {"exposed_comm_s", "exposed communication"},
                {"optimizer_s", "optimizer"}, {"idle_s", "idle between steps"}};
        List<String> categories = new ArrayList<>();
        List<SvgChart.Series> series = new ArrayList<>();
        for (String[] p : parts) {
            double[] v = new double[per.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = per.get(i).getAsJsonObject().get(p[0]).getAsDouble();
            }
            series.add(new SvgChart.Series(p[1], v));
        }
        List<List<String>> rows = new ArrayList<>();
        for (JsonElement e : per) {
            JsonObject r = e.getAsJsonObject();
            categories.add("rank " + r.get("rank").getAsInt());
            List<String> row = new ArrayList<>(List.of("rank " + r.get("rank").getAsInt(), r.get("steps").getAsString(), fmt(r.get("step_time_s"))));
            for (String[] p : parts) {
                row.add(fmt(r.get(p[0])));
            }
            row.add(mib(r, "optimizer_state_bytes"));
            row.add(mib(r, "peak_rss_bytes"));
            rows.add(row);
        }
        List<String> head = new ArrayList<>(List.of("", "steps", "step time s"));
        for (String[] p : parts) {
            head.add(p[1] + " s");
        }
        head.add("optimizer state MiB");
        head.add("peak RSS MiB");
        table(head, rows);
        html.append(SvgChart.bars("Seconds per rank", "seconds", categories, series, true));
        if (ranks.has("straggler_rank")) {
            para(String.format(Locale.ROOT, "Slowest rank: %d, %.1f %% more busy time per step (step time without exposed communication) than the median rank.",
                    ranks.get("straggler_rank").getAsInt(), ranks.get("straggler_slower_than_median_pct").getAsDouble()));
        }
    }

    private void communication(JsonObject c) {
        html.append("<h2>Communication</h2>\n");
        List<List<String>> rows = new ArrayList<>(List.of(
                row("bytes all-reduced (rank 0)", String.format(Locale.ROOT, "%.1f MB", c.get("bytes_allreduced").getAsDouble() / 1e6)),
                row("all-reduce in flight", fmt(c.get("comm_s")) + " s"),
                row("exposed (not hidden by backward)", fmt(c.get("exposed_comm_s")) + " s"),
                row("hidden by overlap", pct(c.get("hidden_fraction")))));
        if (c.has("busbw_GBps")) {
            rows.add(row("achieved bus bandwidth", fmt(c.get("busbw_GBps")) + " GB/s"));
        }
        rows.add(row("expected (slowest preflight link)", c.has("expected_busbw_GBps") ? fmt(c.get("expected_busbw_GBps")) + " GB/s"
                : c.get("expected_busbw_note").getAsString()));
        table(List.of("", ""), rows);
    }

    private void scrap(JsonObject s) {
        html.append("<h2>Scrap</h2>\n");
        table(List.of("", ""), List.of(row("failed attempts", s.get("failed_attempts").getAsString()),
                row("restarts", s.get("restarts").getAsString()), row("steps redone after resume", s.get("steps_redone").getAsString()),
                row("compute-seconds lost", fmt(s.get("compute_seconds_lost"))), row("steps skipped (non-finite gradients)", s.get("skipped_steps").getAsString())));
        for (JsonElement f : s.getAsJsonArray("failures")) {
            para(esc(f.getAsString()));
        }
    }

    private void table(List<String> head, List<List<String>> rows) {
        html.append("<table><tr>");
        head.forEach(h -> html.append("<th>").append(esc(h)).append("</th>"));
        html.append("</tr>\n");
        for (List<String> r : rows) {
            html.append("<tr>");
            r.forEach(c -> html.append("<td>").append(c).append("</td>"));
            html.append("</tr>\n");
        }
        html.append("</table>\n");
    }

    private void para(String text) {
        html.append("<p>").append(text).append("</p>\n");
    }

    private static List<String> row(String name, String value) {
        return List.of(esc(name), esc(value));
    }

    private static String fmt(JsonElement v) {
        if (v == null || v.isJsonNull()) {
            return "–";
        }
        double d = v.getAsDouble();
        return Math.abs(d) >= 100 ? String.format(Locale.ROOT, "%,.0f", d) : String.format(Locale.ROOT, "%.3g", d);
    }

    private static String pct(JsonElement v) {
        return String.format(Locale.ROOT, "%.1f %%", v.getAsDouble() * 100);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
