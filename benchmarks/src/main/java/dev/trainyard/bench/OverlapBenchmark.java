package dev.trainyard.bench;

import dev.trainyard.launcher.report.SvgChart;
import dev.trainyard.testbed.SimulatedCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The same training with overlap on and off: step time, communication in flight per step, the part
 * of it {@code step()} still waited for (exposed), and the fraction hidden behind backward
 * (1 - exposed / communication). {@code --link 1gbit} puts each worker on its own simulated host
 * so communication takes as long as on a real slow network.
 */
@Command(name = "overlap", mixinStandardHelpOptions = true, description = "Communication hidden by overlapping all-reduce with backward.")
public final class OverlapBenchmark implements Callable<Integer> {
    @Option(names = "--model", description = "mlp, mlp-wide, cnn, resnet or gpt (default: ${DEFAULT-VALUE})")
    String model = "cnn";
    @Option(names = "--nproc", description = "workers (default: ${DEFAULT-VALUE})")
    int nproc = 2;
    @Option(names = "--batch", description = "batch per worker (default: ${DEFAULT-VALUE})")
    int batch = 64;
    @Option(names = "--steps", description = "timed steps (default: ${DEFAULT-VALUE})")
    int steps = 200;
    @Option(names = "--warmup", description = "untimed steps first (default: ${DEFAULT-VALUE})")
    int warmup = 50;
    @Option(names = "--threads", description = "compute threads per worker (default: ${DEFAULT-VALUE})")
    int threads = 1;
    @Option(names = "--repeat", description = "runs of each mode; medians are reported (default: ${DEFAULT-VALUE})")
    int repeat = 3;
    @Option(names = "--first-bucket-bytes", description = "first gradient bucket; gradients that fit in it are sent as one bucket"
            + " after backward, so it must be below the model's 0.94 MB (MLP) for overlap to have anything to overlap (default: ${DEFAULT-VALUE})")
    long firstBucketBytes = 64 << 10;
    @Option(names = "--stages", description = "backward stages with overlap on: up to this many all-reduce launches during backward"
            + " (default: the trainer's, 4)")
    int stages;
    @Option(names = "--link", description = "one simulated host per worker, links shaped to this rate (e.g. 1gbit; root only)")
    String link;
    @Option(names = "--json", description = "write the results as JSON here")
    Path json;

    public static void main(String[] args) {
        BenchCli.run(new OverlapBenchmark(), args);
    }

    @Override
    public Integer call() throws Exception {
        if (nproc < 2) {
            throw new IllegalArgumentException("--nproc must be at least 2: one worker has nothing to communicate");
        }
        if (stages < 0) {
            throw new IllegalArgumentException("--stages takes 1 or more (omitted: the trainer's default of 4), got " + stages);
        }
        List<double[]> on = new ArrayList<>();
        List<double[]> off = new ArrayList<>();
        try (SimulatedCluster cluster = link == null ? null : LinkOption.cluster(nproc, link)) {
            TrainingRuns runs = new TrainingRuns(new TrainingRuns.Setup(model, batch, steps, warmup, threads, "adam", firstBucketBytes, stages), Optional.ofNullable(cluster));
            for (int rep = 0; rep < repeat; rep++) {
                System.out.printf(Locale.ROOT, "# repeat %d/%d: overlap on...%n", rep + 1, repeat);
                on.add(runs.trainyard(nproc, true));
                System.out.printf(Locale.ROOT, "# repeat %d/%d: overlap off...%n", rep + 1, repeat);
                off.add(runs.trainyard(nproc, false));
            }
        }
        System.out.printf(Locale.ROOT, "# overlap: model %s, %d workers, batch %d per worker, %d timed steps after %d, %s, median of %d repeat(s), %d cores%n",
                model, nproc, batch, steps, warmup, link == null ? "loopback" : "one simulated host per worker, links " + link, repeat,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-8s %12s %10s %12s %11s %14s %8s%n", "overlap", "samples/s", "step(ms)", "backward(ms)",
                "comm(ms)", "exposed(ms)", "hidden");
        StringBuilder js = new StringBuilder(String.format(Locale.ROOT, "{\"benchmark\":\"overlap\",\"model\":\"%s\",\"workers\":%d,\"batch_per_worker\":%d,"
                + "\"steps\":%d,\"link\":%s,\"repeats\":%d,\"rows\":[", model, nproc, batch, steps, link == null ? "null" : "\"" + link + "\"", repeat));
        for (int i = 0; i < 2; i++) {
            List<double[]> r = i == 0 ? on : off;
            double comm = TrainingRuns.median(r, 7);
            double exposed = TrainingRuns.median(r, 5);
            double hidden = comm <= 0 ? 0 : Math.max(0, 1 - exposed / comm);
            System.out.printf(Locale.ROOT, "%-8s %12.0f %10.2f %12.2f %11.2f %14.2f %7.0f%%%n", i == 0 ? "on" : "off", TrainingRuns.median(r, 0),
                    TrainingRuns.median(r, 1) * 1e3, TrainingRuns.median(r, 4) * 1e3, comm * 1e3, exposed * 1e3, hidden * 100);
            js.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "{\"overlap\":%b,\"samples_per_s\":%.3f,\"step_s\":%.6f,\"backward_s\":%.6f,"
                    + "\"comm_s\":%.6f,\"exposed_comm_s\":%.6f,\"hidden_fraction\":%.4f}", i == 0, TrainingRuns.median(r, 0), TrainingRuns.median(r, 1),
                    TrainingRuns.median(r, 4), comm, exposed, hidden));
        }
        System.out.printf(Locale.ROOT, "# step time off / on = %.2f%n", TrainingRuns.median(off, 1) / TrainingRuns.median(on, 1));
        if (json != null) {
            if (json.getParent() != null) {
                Files.createDirectories(json.getParent());
            }
            Files.writeString(json, js.append("]}\n").toString(), StandardCharsets.UTF_8);
            Path svg = SvgChart.beside(json);
            String[] parts = {"data wait", "forward", "backward", "exposed comm", "optimizer"};
            List<SvgChart.Series> series = new ArrayList<>();
            for (int f = 0; f < parts.length; f++) {
                int field = f + 2;
                series.add(new SvgChart.Series(parts[f], new double[] {TrainingRuns.median(on, field) * 1e3, TrainingRuns.median(off, field) * 1e3}));
            }
            SvgChart.bars(svg, "Step time, " + model + ", " + nproc + " workers" + (link == null ? "" : ", links " + link), "ms per step",
                    List.of("overlap on", "overlap off"), series, true);
            System.out.println("# wrote " + json + " and " + svg);
        }
        return 0;
    }
}
