package dev.trainyard.bench;

import dev.trainyard.launcher.report.SvgChart;
import dev.trainyard.testbed.SimulatedCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Training throughput per world size and scaling efficiency (throughput(N) / (N x throughput(1)))
 * with the compute threads per worker held fixed. Trainyard runs under its real launcher; with
 * {@code --compare torch-ddp} the same model, optimizer, batch and data path run through PyTorch
 * DDP (Gloo), and with {@code --compare djl} a plain DJL Trainer in one process is the baseline;
 * {@code --ceiling} adds what the machine allows: N plain DJL processes at once, with no communication.
 * Every repeat runs every configuration once, alternating, so all see the same machine noise.
 */
@Command(name = "scaling", mixinStandardHelpOptions = true, description = "Training throughput and scaling efficiency.")
public final class ScalingBenchmark implements Callable<Integer> {
    @Option(names = "--model", description = "mlp, mlp-wide (20 M parameters), cnn, resnet (ResNet-18 layout, 0.70 M) or gpt (3.31 M; a sample is a 64-token window) (default: ${DEFAULT-VALUE})")
    String model = "mlp";
    @Option(names = "--nproc", split = ",", description = "world sizes (default: 1,2)")
    int[] nproc = {1, 2};
    @Option(names = "--batch", description = "batch per worker (default: ${DEFAULT-VALUE})")
    int batch = 64;
    @Option(names = "--steps", description = "timed steps (default: ${DEFAULT-VALUE})")
    int steps = 1000;
    @Option(names = "--warmup", description = "untimed steps first (default: ${DEFAULT-VALUE})")
    int warmup = 200;
    @Option(names = "--threads", description = "compute threads per worker (default: ${DEFAULT-VALUE})")
    int threads = 1;
    @Option(names = "--repeat", description = "runs of every configuration; medians are reported (default: ${DEFAULT-VALUE})")
    int repeat = 3;
    @Option(names = "--compare", split = ",", description = "peers to run side by side: torch-ddp, djl")
    List<String> compare = new ArrayList<>();
    @Option(names = "--optimizer", description = "sgd or adam, the same for every system (default: ${DEFAULT-VALUE})")
    String optimizer = "adam";
    @Option(names = "--ceiling", description = "add a row per world size N > 1: N independent plain DJL processes at once (no communication)")
    boolean ceiling;
    @Option(names = "--zero", description = "add a row per world size N > 1: Trainyard with its optimizer state sharded over the workers (ZeRO-1)")
    boolean zero;
    @Option(names = "--collective-thread", description = "add a row per world size N > 1: Trainyard with the step's last all-reduce"
            + " handed to the communicator's thread (DistributedOptions.withLastBucketOnCallerThread(false))")
    boolean collectiveThread;
    @Option(names = "--tls", description = "add two rows per world size N > 1: Trainyard on plaintext gRPC streams, and over mutual TLS"
            + " (throwaway certificates; TLS always carries tensors on gRPC streams)")
    boolean tls;
    @Option(names = "--no-overlap", description = "Trainyard all-reduces after the whole backward")
    boolean noOverlap;
    @Option(names = "--link", description = "run each worker on its own simulated host, links shaped to this rate (e.g. 1gbit; root only)")
    String link;
    @Option(names = "--json", description = "write the results as JSON here")
    Path json;
    /** PyTorch's version and the BLAS it loaded, as the DDP peer reported them. */
    private String peer;

    public static void main(String[] args) {
        BenchCli.run(new ScalingBenchmark(), args);
    }

    /** One measured configuration: median samples/s over repeats, and Trainyard's step breakdown (seconds). */
    record Row(String system, int workers, double samplesPerSecond, double[] breakdown, double[] samplesPerSecondEachRepeat) {
    }

    @Override
    public Integer call() throws Exception {
        for (String c : compare) {
            if (!c.equals("torch-ddp") && !c.equals("djl")) {
                throw new IllegalArgumentException("--compare takes torch-ddp and/or djl, got '" + c + "'");
            }
        }
        if (!optimizer.equals("sgd") && !optimizer.equals("adam")) {
            throw new IllegalArgumentException("--optimizer takes sgd or adam, got '" + optimizer + "'");
        }
        if (zero && Arrays.stream(nproc).noneMatch(n -> n > 1)) {
            throw new IllegalArgumentException("--zero shards the optimizer state over workers: give --nproc a world size above 1");
        }
        boolean ddp = compare.contains("torch-ddp");
        if (ddp && GlooPeer.unavailableReason() != null) {
            System.out.println("# --compare torch-ddp skipped: " + GlooPeer.unavailableReason());
            ddp = false;
        }
        Map<String, List<double[]>> runs = new LinkedHashMap<>();
        TrainingRuns.Setup setup = new TrainingRuns.Setup(model, batch, steps, warmup, threads, optimizer, 0, 0);
        int maxWorkers = Arrays.stream(nproc).max().orElse(1);
        try (SimulatedCluster cluster = link == null || maxWorkers < 2 ? null : LinkOption.cluster(maxWorkers, link)) {
            TrainingRuns on = new TrainingRuns(setup, Optional.ofNullable(cluster));
            TrainingRuns local = new TrainingRuns(setup, Optional.empty());
            List<String> tlsOptions = tls ? AllReduceBenchmark.throwawayTls(cluster, maxWorkers).launchOptions() : List.of();
            for (int rep = 0; rep < repeat; rep++) {
                for (int n : nproc) {
                    // one worker needs no network: it always runs locally
                    TrainingRuns where = n == 1 ? local : on;
                    System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): trainyard...%n", rep + 1, repeat, n);
                    runs.computeIfAbsent("trainyard/" + n, k -> new ArrayList<>()).add(where.trainyard(n, !noOverlap));
                    if (zero && n > 1) {
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): trainyard, ZeRO-1...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("zero1/" + n, k -> new ArrayList<>()).add(where.trainyard(n, !noOverlap, List.of("--zero"), List.of()));
                    }
                    if (collectiveThread && n > 1) {
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): trainyard, last all-reduce on the collective thread...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("coll-thread/" + n, k -> new ArrayList<>())
                                .add(where.trainyard(n, !noOverlap, List.of("--collective-thread"), List.of()));
                    }
                    if (tls && n > 1) {
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): trainyard, plaintext gRPC streams...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("grpc-stream/" + n, k -> new ArrayList<>())
                                .add(where.trainyard(n, !noOverlap, List.of(), List.of("--transport", "grpc-stream")));
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): trainyard, mutual TLS...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("tls/" + n, k -> new ArrayList<>()).add(where.trainyard(n, !noOverlap, List.of(), tlsOptions));
                    }
                    if (n == 1 && compare.contains("djl")) {
                        // right after one Trainyard worker: the pair compared is measured minutes apart otherwise, and the machine drifts
                        plainDjl(local, rep, runs);
                    }
                    if (ddp) {
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): torch-ddp...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("torch-ddp/" + n, k -> new ArrayList<>()).add(where.torchDdp(n));
                        peer = where.peer() != null ? where.peer() : peer;
                    }
                    if (ceiling && n > 1) {
                        System.out.printf(Locale.ROOT, "# repeat %d/%d, %d worker(s): ceiling (independent plain DJL processes)...%n", rep + 1, repeat, n);
                        runs.computeIfAbsent("ceiling/" + n, k -> new ArrayList<>()).add(local.ceiling(n));
                    }
                }
                if (compare.contains("djl") && Arrays.stream(nproc).noneMatch(n -> n == 1)) {
                    plainDjl(local, rep, runs);
                }
            }
        }
        List<Row> rows = new ArrayList<>();
        runs.forEach((key, values) -> {
            String[] k = key.split("/");
            rows.add(new Row(k[0], Integer.parseInt(k[1]), TrainingRuns.median(values, 0), medianBreakdown(values),
                    values.stream().mapToDouble(v -> v[0]).toArray()));
        });
        print(rows);
        if (json != null) {
            writeJson(rows);
            Path svg = SvgChart.beside(json);
            plot(rows, svg);
            System.out.println("# wrote " + json + " and " + svg);
        }
        return 0;
    }

    private void plainDjl(TrainingRuns local, int rep, Map<String, List<double[]>> runs) throws IOException, InterruptedException {
        System.out.printf(Locale.ROOT, "# repeat %d/%d: plain DJL Trainer...%n", rep + 1, repeat);
        runs.computeIfAbsent("djl/1", k -> new ArrayList<>()).add(local.plainDjl());
    }

    private static double[] medianBreakdown(List<double[]> runs) {
        int fields = runs.get(0).length;
        double[] out = new double[fields - 1];
        for (int f = 1; f < fields; f++) {
            out[f - 1] = TrainingRuns.median(runs, f);
        }
        return out;
    }

    private double base(List<Row> rows, String system) {
        return rows.stream().filter(r -> r.system().equals(system) && r.workers() == 1).mapToDouble(Row::samplesPerSecond).findFirst().orElse(Double.NaN);
    }

    private void print(List<Row> rows) {
        System.out.printf(Locale.ROOT, "# training throughput: model %s, batch %d per worker, %s, %d timed steps after %d, %d compute thread(s)"
                        + " per worker, overlap %s, %s, median of %d repeat(s), %d cores%n", model, batch, optimizer.equals("sgd") ? "SGD" : "Adam", steps, warmup, threads,
                noOverlap ? "off" : "on", link == null ? "loopback" : "one simulated host per worker, links " + link, repeat,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-11s %7s %12s %10s %9s | %-46s | %s%n", "system", "workers", "samples/s", "efficiency", "step(ms)",
                "data wait / forward / backward / exposed comm / optimizer (ms)", "samples/s of each repeat");
        for (Row r : rows) {
            double eff = r.samplesPerSecond() / (r.workers() * base(rows, r.system()));
            String breakdown = r.breakdown().length >= 6 ? String.format(Locale.ROOT, "%.2f / %.2f / %.2f / %.2f / %.2f", r.breakdown()[1] * 1e3,
                    r.breakdown()[2] * 1e3, r.breakdown()[3] * 1e3, r.breakdown()[4] * 1e3, r.breakdown()[5] * 1e3) : "";
            StringBuilder each = new StringBuilder();
            for (double v : r.samplesPerSecondEachRepeat()) {
                each.append(each.length() == 0 ? "" : " ").append(Math.round(v));
            }
            System.out.printf(Locale.ROOT, "%-11s %7d %12.0f %10s %9.2f | %-46s | %s%n", r.system(), r.workers(), r.samplesPerSecond(),
                    Double.isNaN(eff) ? "-" : String.format(Locale.ROOT, "%.2f", eff), r.breakdown()[0] * 1e3, breakdown, each);
        }
        for (Row t : rows) {
            if (!t.system().equals("trainyard")) {
                continue;
            }
            for (String other : List.of("torch-ddp", "ceiling")) {
                rows.stream().filter(o -> o.system().equals(other) && o.workers() == t.workers())
                        .forEach(o -> System.out.printf(Locale.ROOT, "# %d worker(s): trainyard / %s samples/s = %.2f%n",
                                t.workers(), other, t.samplesPerSecond() / o.samplesPerSecond()));
            }
            if (t.workers() > 1 && !Double.isNaN(base(rows, "trainyard"))) {
                System.out.printf(Locale.ROOT, "# %d workers / 1 worker (trainyard) samples/s = %.2f%n", t.workers(), t.samplesPerSecond() / base(rows, "trainyard"));
            }
        }
        if (peer != null) {
            System.out.println("# torch-ddp peer: " + peer + (peer.contains("openblas") ? ""
                    : " (reference BLAS is slow; for a fair peer: apt-get install libopenblas0-pthread)"));
        }
        for (Row r : rows) {
            if (r.breakdown().length >= 9 && (r.system().equals("trainyard") || r.system().equals("zero1") || r.system().equals("coll-thread"))) {
                System.out.printf(Locale.ROOT, "# %s/%d: optimizer state %.1f MiB per rank, peak RSS of rank 0 %.0f MiB%n", r.system(), r.workers(),
                        r.breakdown()[7] / (1 << 20), r.breakdown()[8] / (1 << 20));
            }
        }
        rows.stream().filter(r -> r.system().equals("zero1")).forEach(z -> rows.stream()
                .filter(t -> t.system().equals("trainyard") && t.workers() == z.workers())
                .forEach(t -> System.out.printf(Locale.ROOT, "# %d workers: ZeRO-1 / unsharded samples/s = %.3f%n", z.workers(),
                        z.samplesPerSecond() / t.samplesPerSecond())));
        rows.stream().filter(r -> r.system().equals("coll-thread")).forEach(c -> rows.stream()
                .filter(t -> t.system().equals("trainyard") && t.workers() == c.workers())
                .forEach(t -> System.out.printf(Locale.ROOT, "# %d workers: last all-reduce on the training thread / on the collective thread samples/s = %.3f%n",
                        c.workers(), t.samplesPerSecond() / c.samplesPerSecond())));
        rows.stream().filter(r -> r.system().equals("tls")).forEach(tls -> rows.stream()
                .filter(p -> p.system().equals("grpc-stream") && p.workers() == tls.workers())
                .forEach(p -> System.out.printf(Locale.ROOT, "# %d workers: mutual TLS / plaintext gRPC streams samples/s = %.3f%n",
                        tls.workers(), tls.samplesPerSecond() / p.samplesPerSecond())));
        double djl = base(rows, "djl");
        if (!Double.isNaN(djl)) {
            System.out.printf(Locale.ROOT, "# 1 worker: trainyard / plain DJL Trainer samples/s = %.3f%n", base(rows, "trainyard") / djl);
        }
    }

    /** Samples/s per world size, one bar per system. */
    private void plot(List<Row> rows, Path svg) throws IOException {
        List<String> categories = Arrays.stream(nproc).mapToObj(n -> n + (n == 1 ? " worker" : " workers")).toList();
        List<SvgChart.Series> series = new ArrayList<>();
        for (String system : rows.stream().map(Row::system).distinct().toList()) {
            double[] v = new double[nproc.length];
            for (int i = 0; i < nproc.length; i++) {
                int n = nproc[i];
                v[i] = rows.stream().filter(r -> r.system().equals(system) && r.workers() == n).mapToDouble(Row::samplesPerSecond).findFirst().orElse(0);
            }
            series.add(new SvgChart.Series(system, v));
        }
        SvgChart.bars(svg, "Training throughput, " + model + ", batch " + batch + " per worker", "samples/s", categories, series, false);
    }

    private void writeJson(List<Row> rows) throws IOException {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "{\"benchmark\":\"scaling\",\"model\":\"%s\",\"batch_per_worker\":%d,"
                        + "\"optimizer\":\"%s\",\"steps\":%d,\"warmup\":%d,\"threads_per_worker\":%d,\"overlap\":%b,\"repeats\":%d,\"cores\":%d,"
                        + "\"link\":%s,\"torch_peer\":%s,\"rows\":[",
                model, batch, optimizer, steps, warmup, threads, !noOverlap, repeat, Runtime.getRuntime().availableProcessors(),
                link == null ? "null" : "\"" + link + "\"",
                peer == null ? "null" : "\"" + peer + "\""));
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            double eff = r.samplesPerSecond() / (r.workers() * base(rows, r.system()));
            sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"system\":\"%s\",\"workers\":%d,\"samples_per_s\":%.3f,"
                    + "\"efficiency\":%s,\"step_s\":%.6f", r.system(), r.workers(), r.samplesPerSecond(),
                    Double.isNaN(eff) ? "null" : String.format(Locale.ROOT, "%.4f", eff), r.breakdown()[0]));
            if (r.breakdown().length >= 6) {
                sb.append(String.format(Locale.ROOT, ",\"data_wait_s\":%.6f,\"forward_s\":%.6f,\"backward_s\":%.6f,\"exposed_comm_s\":%.6f,"
                        + "\"optimizer_s\":%.6f", r.breakdown()[1], r.breakdown()[2], r.breakdown()[3], r.breakdown()[4], r.breakdown()[5]));
            }
            if (r.breakdown().length >= 9) {
                sb.append(String.format(Locale.ROOT, ",\"optimizer_state_bytes_per_rank\":%.0f,\"peak_rss_bytes_rank0\":%.0f", r.breakdown()[7], r.breakdown()[8]));
            }
            sb.append(",\"samples_per_s_each_repeat\":").append(Arrays.toString(r.samplesPerSecondEachRepeat()));
            sb.append('}');
        }
        sb.append("]}\n");
        if (json.getParent() != null) {
            Files.createDirectories(json.getParent());
        }
        Files.writeString(json, sb.toString(), StandardCharsets.UTF_8);
    }
}
