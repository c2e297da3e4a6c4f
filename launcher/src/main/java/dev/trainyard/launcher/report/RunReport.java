package dev.trainyard.launcher.report;

import static dev.trainyard.launcher.report.RunFiles.num;
import static dev.trainyard.launcher.report.RunFiles.str;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;
import java.util.Optional;
import java.util.Arrays;
import java.util.Objects;

/**
 * The numbers of {@code report.json}, computed from a run directory: throughput (overall and over
 * time), cycle time per epoch and to a target accuracy, time to first step and its phases, where
 * each rank's time went (and which rank straggled), communication, scrap (failed attempts,
 * restarts, redone steps, lost compute, skipped steps), energy, and scaling against a baseline.
 * Steps an attempt ran past its successor's resume point were redone: they count as scrap, not
 * as throughput.
 */
public final class RunReport {
    private static final String[] COMPUTE = {"forward_s", "loss_s", "backward_s", "other_s"};
    /** The phases that tile a step, as the metrics name them. */
    static final String[] PHASES = {"data_wait_s", "forward_s", "loss_s", "backward_s", "other_s", "exposed_comm_s", "optimizer_s"};

    private final RunFiles run;
    /** Kept (not redone) steps of each rank, in order. */
    private final Map<Integer, List<JsonObject>> kept = new TreeMap<>();
    private final Map<Integer, List<JsonObject>> redone = new TreeMap<>();

    private RunReport(RunFiles run) {
        this.run = run;
        run.metrics().forEach((rank, lines) -> {
            Map<Integer, Long> resumeAfter = resumePoints(lines);
            List<JsonObject> k = new ArrayList<>();
            List<JsonObject> r = new ArrayList<>();
            for (JsonObject m : lines) {
                Long limit = resumeAfter.get(m.get("attempt").getAsInt());
                (limit != null && m.get("step").getAsLong() > limit ? r : k).add(m);
            }
            kept.put(rank, k);
            redone.put(rank, r);
        });
    }

    /** For each attempt that has a successor with steps: the last step the successor did not redo. */
    private static Map<Integer, Long> resumePoints(List<JsonObject> lines) {
        Map<Integer, Long> firstStep = new TreeMap<>();
        for (JsonObject m : lines) {
            firstStep.merge(m.get("attempt").getAsInt(), m.get("step").getAsLong(), Math::min);
        }
        Map<Integer, Long> out = new TreeMap<>();
        Integer previous = null;
        for (Map.Entry<Integer, Long> e : firstStep.entrySet()) {
            if (previous != null) {
                out.put(previous, e.getValue() - 1);
            }
            previous = e.getKey();
        }
        return out;
    }

    static JsonObject compute(RunFiles run, RunFiles baseline, OptionalDouble targetAccuracy) {
        RunReport r = new RunReport(run);
        JsonObject out = new JsonObject();
        out.addProperty("run_dir", run.dir().toAbsolutePath().toString());
        JsonObject overview = r.overview();
        out.add("run", overview);
        out.add("throughput", r.throughput(overview));
        out.add("cycle_time", r.cycleTime(overview, targetAccuracy));
        out.add("time_to_first_step", r.timeToFirstStep());
        out.add("ranks", r.ranks());
        out.add("communication", r.communication());
        out.add("scrap", r.scrap());
        out.add("energy", r.energy(out.getAsJsonObject("throughput").get("samples").getAsLong()));
        if (baseline != null) {
            out.add("scaling", scaling(out, compute(baseline, null, OptionalDouble.empty())));
        }
        return out;
    }

    private JsonObject overview() {
        JsonObject o = new JsonObject();
        long start = run.attempts().stream().mapToLong(a -> a.get("start_us").getAsLong()).min()
                .orElse(allSteps().stream().mapToLong(m -> stepStartMicros(m)).min().orElse(0));
        long end = run.attempts().stream().filter(a -> a.has("end_us")).mapToLong(a -> a.get("end_us").getAsLong()).max()
                .orElse(allSteps().stream().mapToLong(m -> m.get("t_end_us").getAsLong()).max().orElse(start));
        o.addProperty("start_us", start);
        o.addProperty("wall_s", (end - start) / 1e6);
        o.addProperty("ranks", run.metrics().size());
        o.addProperty("attempts", run.attempts().stream().mapToInt(a -> a.get("attempt").getAsInt()).max().orElse(1));
        o.addProperty("outcome", run.attempts().stream().max(Comparator.comparingInt(a -> a.get("attempt").getAsInt()))
                .map(a -> str(a, "outcome")).orElse("unknown (no attempts file)"));
        // records a worker stopped writing (a full disk): every figure computed from them is a lower bound
        JsonArray incomplete = new JsonArray();
        run.incomplete().forEach(incomplete::add);
        o.add("incomplete_records", incomplete);
        return o;
    }

    private List<JsonObject> allSteps() {
        return kept.values().stream().flatMap(List::stream).toList();
    }

    static long stepStartMicros(JsonObject m) {
        return m.get("t_end_us").getAsLong() - Math.round(num(m, "wall_s") * 1e6);
    }

    private JsonObject throughput(JsonObject overview) {
        JsonObject o = new JsonObject();
        long samples = allSteps().stream().mapToLong(m -> m.get("samples").getAsLong()).sum();
        double training = kept.values().stream().mapToDouble(l -> l.stream().mapToDouble(m -> num(m, "wall_s")).sum()).max().orElse(0);
        o.addProperty("samples", samples);
        o.addProperty("samples_per_s_overall", rate(samples, overview.get("wall_s").getAsDouble()));
        o.addProperty("training_s", training);
        o.addProperty("samples_per_s_training", rate(samples, training));
        o.add("over_time", overTime(overview.get("start_us").getAsLong(), overview.get("wall_s").getAsDouble()));
        return o;
    }

    /** Samples per second of all ranks together in about 40 windows from the job's start. */
    private JsonArray overTime(long startMicros, double wall) {
        double window = Math.max(1, wall / 40);
        int n = (int) Math.ceil(wall / window) + 1;
        double[] samples = new double[n];
        for (JsonObject m : allSteps()) {
            int i = (int) ((m.get("t_end_us").getAsLong() - startMicros) / 1e6 / window);
            if (i >= 0 && i < n) {
                samples[i] += m.get("samples").getAsLong();
            }
        }
        JsonArray a = new JsonArray();
        for (int i = 0; i < n; i++) {
            JsonObject p = new JsonObject();
            p.addProperty("t_s", (i + 0.5) * window);
            p.addProperty("samples_per_s", samples[i] / window);
            a.add(p);
        }
        return a;
    }

    private JsonObject cycleTime(JsonObject overview, OptionalDouble target) {
        JsonObject o = new JsonObject();
        Map<Integer, Double> epochs = new TreeMap<>(); // a redone epoch keeps its last (successful) time
        run.events(0, "epoch", null).forEach(e -> epochs.put(e.get("epoch").getAsInt(), num(e, "dur_s")));
        JsonArray list = new JsonArray();
        epochs.forEach((epoch, seconds) -> {
            JsonObject e = new JsonObject();
            e.addProperty("epoch", epoch + 1);
            e.addProperty("seconds", seconds);
            list.add(e);
        });
        o.add("epochs", list);
        List<JsonObject> accuracy = run.events(0, "metric", "accuracy");
        JsonArray acc = new JsonArray();
        long start = overview.get("start_us").getAsLong();
        accuracy.forEach(a -> {
            JsonObject p = new JsonObject();
            p.addProperty("t_s", (a.get("t_us").getAsLong() - start) / 1e6);
            p.addProperty("accuracy", num(a, "value"));
            acc.add(p);
        });
        o.add("accuracy", acc);
        // rank 0's data, as its worker named it (absent when the job did not say)
        run.events(0, "dataset", null).stream().findFirst().ifPresent(d -> {
            JsonObject data = new JsonObject();
            data.addProperty("name", RunFiles.str(d, "name"));
            data.addProperty("synthetic", d.has("synthetic") && d.get("synthetic").getAsBoolean());
            o.add("dataset", data);
        });
        if (target.isPresent()) {
            o.addProperty("target_accuracy", target.getAsDouble());
            accuracy.stream().filter(a -> num(a, "value") >= target.getAsDouble()).findFirst()
                    .ifPresentOrElse(a -> o.addProperty("time_to_target_s", (a.get("t_us").getAsLong() - start) / 1e6),
                            () -> o.addProperty("time_to_target_s", (String) null));
        }
        return o;
    }

    /** Per attempt: launch to the end of rank 0's first step, split into the phases the events show. */
    private JsonArray timeToFirstStep() {
        JsonArray out = new JsonArray();
        for (JsonObject a : run.attempts()) {
            if (a.get("node").getAsInt() != 0) {
                continue;
            }
            int attempt = a.get("attempt").getAsInt() - 1;
            long start = a.get("start_us").getAsLong();
            OptionalDouble firstEnd = run.metrics().getOrDefault(0, List.of()).stream()
                    .filter(m -> m.get("attempt").getAsInt() == attempt).mapToDouble(m -> m.get("t_end_us").getAsLong()).min();
            if (firstEnd.isEmpty()) {
                continue;
            }
            JsonObject o = new JsonObject();
            o.addProperty("attempt", attempt + 1);
            double total = (firstEnd.getAsDouble() - start) / 1e6;
            double jvm = spanEnd(attempt, "jvm_start").map(end -> (end - start) / 1e6).orElse(0.0);
            double preflight = spanSeconds(attempt, "preflight");
            double engine = spanSeconds(attempt, "engine_load");
            double rendezvous = spanSeconds(attempt, "rendezvous");
            // a preflight that passes hands its group to the job: then the job's rendezvous is inside preflight's span
            boolean handedOver = spanEnd(attempt, "rendezvous").flatMap(r -> spanEnd(attempt, "preflight").map(p -> r <= p)).orElse(false);
            o.addProperty("total_s", total);
            o.addProperty("jvm_start_s", jvm);
            o.addProperty("engine_load_s", engine);
            o.addProperty("preflight_s", Math.max(0, preflight - engine - (handedOver ? rendezvous : 0)));
            o.addProperty("rendezvous_s", rendezvous);
            o.addProperty("setup_and_first_step_s", Math.max(0, total - jvm - preflight - (handedOver ? 0 : rendezvous)));
            out.add(o);
        }
        return out;
    }

    /** Where the attempt's last span of that name ended. */
    private Optional<Long> spanEnd(int attempt, String name) {
        return run.events(0, "span", name).stream().filter(e -> e.get("attempt").getAsInt() == attempt)
                .map(e -> e.get("t_us").getAsLong() + Math.round(num(e, "dur_s") * 1e6)).reduce((first, second) -> second);
    }

    /** The attempt's last span of that name: preflight's own rendezvous comes before the job's. */
    private double spanSeconds(int attempt, String name) {
        return run.events(0, "span", name).stream().filter(e -> e.get("attempt").getAsInt() == attempt)
                .mapToDouble(e -> num(e, "dur_s")).reduce((first, second) -> second).orElse(0);
    }

    /** Where each rank's training time went; idle is time between steps (evaluation, checkpoints, ...). */
    private JsonObject ranks() {
        JsonObject o = new JsonObject();
        JsonArray list = new JsonArray();
        double[] busy = new double[kept.size()];
        int i = 0;
        for (Map.Entry<Integer, List<JsonObject>> e : kept.entrySet()) {
            List<JsonObject> steps = e.getValue();
            JsonObject r = new JsonObject();
            r.addProperty("rank", e.getKey());
            r.addProperty("steps", steps.size());
            double wall = sum(steps, "wall_s");
            double data = sum(steps, "data_wait_s");
            double compute = 0;
            for (String k : COMPUTE) {
                compute += sum(steps, k);
            }
            double exposed = sum(steps, "exposed_comm_s");
            double optimizer = sum(steps, "optimizer_s");
            r.addProperty("step_time_s", wall);
            r.addProperty("data_wait_s", data);
            r.addProperty("compute_s", compute);
            r.addProperty("exposed_comm_s", exposed);
            r.addProperty("optimizer_s", optimizer);
            r.addProperty("idle_s", Math.max(0, window(steps) - wall));
            r.addProperty("breakdown_sum_s", data + compute + exposed + optimizer);
            r.addProperty("mean_step_s", steps.isEmpty() ? 0 : wall / steps.size());
            JsonObject perStep = new JsonObject();
            for (String p : PHASES) {
                perStep.addProperty(p, steps.isEmpty() ? 0 : sum(steps, p) / steps.size());
            }
            r.add("phase_per_step_s", perStep);
            lastMetric(e.getKey(), "optimizer_state_bytes").ifPresent(v -> r.addProperty("optimizer_state_bytes", v));
            lastMetric(e.getKey(), "peak_rss_bytes").ifPresent(v -> r.addProperty("peak_rss_bytes", v));
            busy[i++] = steps.isEmpty() ? 0 : (data + compute + optimizer) / steps.size();
            list.add(r);
        }
        o.add("per_rank", list);
        if (busy.length > 1) {
            int slowest = 0;
            for (int k = 1; k < busy.length; k++) {
                slowest = busy[k] > busy[slowest] ? k : slowest;
            }
            double[] sorted = busy.clone();
            Arrays.sort(sorted);
            double median = sorted[sorted.length / 2 - (sorted.length % 2 == 0 ? 1 : 0)];
            o.addProperty("straggler_rank", list.get(slowest).getAsJsonObject().get("rank").getAsInt());
            // busy = step time without exposed communication: the others wait on the straggler there
            o.addProperty("straggler_slower_than_median_pct", median > 0 ? (busy[slowest] / median - 1) * 100 : 0);
        }
        return o;
    }

    /** The last value rank {@code rank} reported for a metric (memory figures: the newest is the largest). */
    private java.util.OptionalDouble lastMetric(int rank, String name) {
        List<JsonObject> values = run.events(rank, "metric", name);
        return values.isEmpty() ? java.util.OptionalDouble.empty() : java.util.OptionalDouble.of(num(values.get(values.size() - 1), "value"));
    }

    /** Time from the start of a rank's first kept step to the end of its last, per attempt. */
    private static double window(List<JsonObject> steps) {
        Map<Integer, long[]> perAttempt = new TreeMap<>();
        for (JsonObject m : steps) {
            long[] w = perAttempt.computeIfAbsent(m.get("attempt").getAsInt(), k -> new long[] {Long.MAX_VALUE, 0});
            w[0] = Math.min(w[0], stepStartMicros(m));
            w[1] = Math.max(w[1], m.get("t_end_us").getAsLong());
        }
        return perAttempt.values().stream().mapToDouble(w -> (w[1] - w[0]) / 1e6).sum();
    }

    private JsonObject communication() {
        List<JsonObject> steps = kept.getOrDefault(0, List.of());
        int world = run.metrics().size();
        double bytes = steps.stream().mapToDouble(m -> num(m, "bytes_allreduced")).sum();
        double comm = sum(steps, "comm_s");
        double exposed = sum(steps, "exposed_comm_s");
        JsonObject o = new JsonObject();
        o.addProperty("bytes_allreduced", bytes);
        o.addProperty("comm_s", comm);
        o.addProperty("exposed_comm_s", exposed);
        o.addProperty("hidden_fraction", comm > 0 ? Math.max(0, 1 - exposed / comm) : 0);
        if (comm > 0 && world > 1) {
            double algbw = bytes / comm / 1e9;
            o.addProperty("algbw_GBps", algbw);
            o.addProperty("busbw_GBps", algbw * 2 * (world - 1) / world);
        }
        run.events().keySet().stream().flatMap(r -> run.events(r, "metric", "preflight_link_GBps").stream())
                .mapToDouble(e -> num(e, "value")).min().ifPresentOrElse(
                v -> o.addProperty("expected_busbw_GBps", v),
                () -> o.addProperty("expected_busbw_note", "no preflight link measurement in this run (launched with --no-preflight?)"));
        return o;
    }

    private JsonObject scrap() {
        JsonObject o = new JsonObject();
        List<JsonObject> failed = run.attempts().stream().filter(a -> a.get("node").getAsInt() == 0 && "failed".equals(str(a, "outcome"))).toList();
        int attempts = (int) run.attempts().stream().filter(a -> a.get("node").getAsInt() == 0).count();
        o.addProperty("failed_attempts", failed.size());
        o.addProperty("restarts", Math.max(0, attempts - 1));
        o.addProperty("steps_redone", redone.getOrDefault(0, List.of()).size());
        o.addProperty("skipped_steps", (int) kept.getOrDefault(0, List.of()).stream().filter(m -> m.get("skipped").getAsBoolean()).count());
        // per rank: the failed attempt's time minus its steps that were kept (the checkpointed work)
        double lost = 0;
        for (JsonObject a : failed) {
            int attempt = a.get("attempt").getAsInt() - 1;
            double duration = (a.get("end_us").getAsLong() - a.get("start_us").getAsLong()) / 1e6;
            for (int rank : run.metrics().keySet()) {
                double keptTime = kept.get(rank).stream().filter(m -> m.get("attempt").getAsInt() == attempt).mapToDouble(m -> num(m, "wall_s")).sum();
                lost += Math.max(0, duration - keptTime);
            }
        }
        o.addProperty("compute_seconds_lost", lost);
        JsonArray why = new JsonArray();
        failed.forEach(a -> why.add("attempt " + a.get("attempt").getAsInt() + ": " + str(a, "summary")));
        o.add("failures", why);
        return o;
    }

    private JsonObject energy(long samples) {
        JsonObject o = new JsonObject();
        List<JsonObject> measured = run.attempts().stream().filter(a -> a.has("energy_j") && !a.get("energy_j").isJsonNull()).toList();
        if (measured.isEmpty() || measured.size() < run.attempts().size()) {
            o.addProperty("available", false);
            o.addProperty("note", run.attempts().stream().map(a -> str(a, "energy_note")).filter(Objects::nonNull)
                    .findFirst().orElse("no energy counters recorded"));
            return o;
        }
        double joules = measured.stream().mapToDouble(a -> num(a, "energy_j")).sum();
        o.addProperty("available", true);
        o.addProperty("joules", joules);
        o.addProperty("joules_per_sample", samples > 0 ? joules / samples : 0);
        o.addProperty("note", "RAPL package counters of the launchers' machines (CPU packages, not the whole node)");
        return o;
    }

    private static JsonObject scaling(JsonObject run, JsonObject baseline) {
        JsonObject o = new JsonObject();
        double thr = run.getAsJsonObject("throughput").get("samples_per_s_training").getAsDouble();
        double base = baseline.getAsJsonObject("throughput").get("samples_per_s_training").getAsDouble();
        int n = run.getAsJsonObject("run").get("ranks").getAsInt();
        int nb = baseline.getAsJsonObject("run").get("ranks").getAsInt();
        o.addProperty("baseline_dir", baseline.get("run_dir").getAsString());
        o.addProperty("baseline_ranks", nb);
        o.addProperty("baseline_samples_per_s", base);
        o.addProperty("speedup", base > 0 ? thr / base : 0);
        o.addProperty("efficiency", base > 0 ? (thr / n) / (base / nb) : 0);
        o.add("phase_growth", phaseGrowth(run, baseline));
        return o;
    }

    /**
     * Per rank, how much each phase of a step grew (seconds per step) against the baseline's mean
     * rank, and the phase that grew most: where adding workers cost time.
     */
    private static JsonArray phaseGrowth(JsonObject run, JsonObject baseline) {
        JsonArray base = baseline.getAsJsonObject("ranks").getAsJsonArray("per_rank");
        double[] baseMean = new double[PHASES.length];
        for (JsonElement e : base) {
            JsonObject per = e.getAsJsonObject().getAsJsonObject("phase_per_step_s");
            for (int p = 0; p < PHASES.length; p++) {
                baseMean[p] += per.get(PHASES[p]).getAsDouble() / base.size();
            }
        }
        JsonArray out = new JsonArray();
        for (JsonElement e : run.getAsJsonObject("ranks").getAsJsonArray("per_rank")) {
            JsonObject rank = e.getAsJsonObject();
            JsonObject per = rank.getAsJsonObject("phase_per_step_s");
            JsonObject g = new JsonObject();
            g.addProperty("rank", rank.get("rank").getAsInt());
            JsonObject growth = new JsonObject();
            int most = 0;
            double[] d = new double[PHASES.length];
            for (int p = 0; p < PHASES.length; p++) {
                d[p] = per.get(PHASES[p]).getAsDouble() - baseMean[p];
                growth.addProperty(PHASES[p], d[p]);
                most = d[p] > d[most] ? p : most;
            }
            g.add("growth_per_step_s", growth);
            double baseStep = 0;
            for (JsonElement b : base) {
                baseStep += b.getAsJsonObject().get("mean_step_s").getAsDouble() / base.size();
            }
            g.addProperty("step_growth_s", rank.get("mean_step_s").getAsDouble() - baseStep);
            g.addProperty("grew_most", PHASES[most].replace("_s", "").replace('_', ' '));
            out.add(g);
        }
        return out;
    }

    private static double sum(List<JsonObject> steps, String key) {
        return steps.stream().mapToDouble(m -> num(m, key)).sum();
    }

    private static double rate(double samples, double seconds) {
        return seconds > 0 ? samples / seconds : 0;
    }
}
