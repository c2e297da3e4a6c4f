package dev.trainyard.launcher.report;

import static dev.trainyard.launcher.report.RunFiles.num;
import static dev.trainyard.launcher.report.RunFiles.str;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.Set;
import java.util.HashSet;

/**
 * {@code timeline.json}: one Chrome trace (loadable at ui.perfetto.dev or chrome://tracing) of
 * every rank. Each rank is a process with tracks for its step phases, forward/backward stages,
 * one track per gradient bucket's all-reduce, and other work (start-up, checkpoint writes); the
 * launchers' attempts (restarts, failures) are a process of their own. Step details come from the
 * traced steps of the metrics files; spans from the events files.
 */
public final class Timeline {
    private static final int LAUNCHER_PID = 1_000_000;
    private static final int PHASES = 1;
    private static final int STAGES = 2;
    private static final int OTHER = 3;
    private static final int BUCKETS = 100;
    private static final String[][] PHASE_ORDER = {{"data_wait_s", "data wait"}, {"forward_s", "forward"}, {"loss_s", "loss"},
            {"backward_s", "backward"}, {"other_s", "between backward and step"}, {"exposed_comm_s", "exposed communication"},
            {"optimizer_s", "optimizer"}};

    private final JsonArray events = new JsonArray();
    private final Set<String> named = new HashSet<>();

    private Timeline() {
    }

    static JsonObject of(RunFiles run) {
        Timeline t = new Timeline();
        run.metrics().forEach((rank, lines) -> {
            t.name("process_name", rank, 0, "rank " + rank);
            t.name("thread_name", rank, PHASES, "step phases");
            t.name("thread_name", rank, STAGES, "forward / backward stages");
            t.name("thread_name", rank, OTHER, "start-up, checkpoints");
            lines.stream().filter(m -> m.has("buckets_s")).forEach(m -> t.step(rank, m));
        });
        run.events().forEach((rank, list) -> list.stream().filter(e -> "span".equals(str(e, "event")))
                .forEach(e -> t.complete(rank, OTHER, str(e, "name") + " (attempt " + (e.get("attempt").getAsInt() + 1) + ")",
                        e.get("t_us").getAsLong(), num(e, "dur_s") * 1e6)));
        t.name("process_name", LAUNCHER_PID, 0, "launchers");
        for (JsonObject a : run.attempts()) {
            int node = a.get("node").getAsInt();
            t.name("thread_name", LAUNCHER_PID, node, "node " + node);
            long start = a.get("start_us").getAsLong();
            long end = a.has("end_us") ? a.get("end_us").getAsLong() : start;
            String what = "attempt " + a.get("attempt").getAsInt() + ": " + str(a, "outcome")
                    + (str(a, "summary") == null ? "" : " (" + str(a, "summary") + ")");
            t.complete(LAUNCHER_PID, node, what, start, end - start);
        }
        JsonObject trace = new JsonObject();
        trace.add("traceEvents", t.events);
        trace.addProperty("displayTimeUnit", "ms");
        return trace;
    }

    /** The phases of one traced step laid end to end from its start, its stages, and its buckets. */
    private void step(int rank, JsonObject m) {
        long start = RunReport.stepStartMicros(m);
        double at = start;
        double forwardAt = 0;
        double backwardAt = 0;
        for (String[] phase : PHASE_ORDER) {
            double dur = num(m, phase[0]) * 1e6;
            if (phase[0].equals("forward_s")) {
                forwardAt = at;
            } else if (phase[0].equals("backward_s")) {
                backwardAt = at;
            }
            complete(rank, PHASES, phase[1] + " (step " + m.get("step").getAsLong() + ")", (long) at, dur);
            at += dur;
        }
        JsonArray fwd = m.getAsJsonArray("forward_stages_s");
        for (int s = 0; s < fwd.size(); s++) {
            double dur = fwd.get(s).getAsDouble() * 1e6;
            complete(rank, STAGES, "forward stage " + s, (long) forwardAt, dur);
            forwardAt += dur;
        }
        JsonArray bwd = m.getAsJsonArray("backward_stages_s");
        for (int s = bwd.size() - 1; s >= 0; s--) { // backward runs from the last stage to the first
            double dur = bwd.get(s).getAsDouble() * 1e6;
            complete(rank, STAGES, "backward stage " + s, (long) backwardAt, dur);
            backwardAt += dur;
        }
        JsonArray buckets = m.getAsJsonArray("buckets_s");
        for (int b = 0; b < buckets.size(); b++) {
            JsonArray span = buckets.get(b).getAsJsonArray();
            if (span.size() == 2) {
                name("thread_name", rank, BUCKETS + b, "bucket " + b + " all-reduce");
                double from = span.get(0).getAsDouble() * 1e6;
                complete(rank, BUCKETS + b, "all-reduce bucket " + b, start + (long) from, span.get(1).getAsDouble() * 1e6 - from);
            }
        }
    }

    private void complete(int pid, int tid, String name, long startMicros, double durMicros) {
        JsonObject e = new JsonObject();
        e.addProperty("name", name);
        e.addProperty("ph", "X");
        e.addProperty("pid", pid);
        e.addProperty("tid", tid);
        e.addProperty("ts", startMicros);
        e.addProperty("dur", Math.max(0, durMicros));
        events.add(e);
    }

    private void name(String kind, int pid, int tid, String name) {
        if (!named.add(kind + "/" + pid + "/" + tid)) {
            return;
        }
        JsonObject e = new JsonObject();
        e.addProperty("name", kind);
        e.addProperty("ph", "M");
        e.addProperty("pid", pid);
        e.addProperty("tid", tid);
        JsonObject args = new JsonObject();
        args.addProperty("name", name);
        e.add("args", args);
        events.add(e);
    }
}
