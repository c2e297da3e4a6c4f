package dev.trainyard.bench;

import dev.trainyard.testbed.SimulatedCluster;
import dev.trainyard.runtime.WorkerEnv;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs one training-throughput measurement of {@link ScalingWorker} (or its PyTorch DDP twin) and
 * returns rank 0's RESULT numbers. On loopback, or with a {@link SimulatedCluster} one simulated
 * host per rank: then Trainyard runs one launcher per host ({@code --nnodes N}) exactly as on a
 * real cluster. Every system gets the launcher's malloc settings.
 */
final class TrainingRuns {
    /**
     * What every system trains; {@code firstBucketBytes} 0 keeps Trainyard's default first bucket,
     * {@code stages} 0 its default number of backward stages.
     */
    record Setup(String model, int batch, int steps, int warmup, int threads, String optimizer, long firstBucketBytes, int stages) {
        Setup {
            BenchModels.requireKnown(model); // before any process starts: one line, exit 2
        }

        List<String> args() {
            List<String> a = new ArrayList<>(List.of("--model", model, "--batch", Integer.toString(batch), "--steps", Integer.toString(steps),
                    "--warmup", Integer.toString(warmup), "--threads", Integer.toString(threads), "--optimizer", optimizer));
            if (firstBucketBytes > 0) {
                a.addAll(List.of("--first-bucket-bytes", Long.toString(firstBucketBytes)));
            }
            if (stages > 0) {
                a.addAll(List.of("--stages", Integer.toString(stages)));
            }
            return a;
        }
    }

    private final Setup setup;
    private final Optional<SimulatedCluster> cluster;
    /** PyTorch's version and the BLAS it loaded, as the DDP peer reported them. */
    private String peer;

    TrainingRuns(Setup setup, Optional<SimulatedCluster> cluster) {
        this.setup = setup;
        this.cluster = cluster;
    }

    String peer() {
        return peer;
    }

    /** Trainyard under its real launcher: one launcher for all workers, or one per simulated host. */
    double[] trainyard(int n, boolean overlap) throws IOException, InterruptedException {
        return trainyard(n, overlap, List.of(), List.of());
    }

    /**
     * ... with more flags for {@link ScalingWorker} ({@code --zero}, {@code --collective-thread}) and
     * more options for the launchers (a transport, mutual TLS).
     */
    double[] trainyard(int n, boolean overlap, List<String> workerFlags, List<String> launchOptions) throws IOException, InterruptedException {
        List<String> worker = new ArrayList<>(List.of(ScalingWorker.class.getName(), "--mode", "trainyard"));
        worker.addAll(setup.args());
        if (!overlap) {
            worker.add("--no-overlap");
        }
        worker.addAll(workerFlags);
        return result(Launches.rank0Lines(n, worker, cluster, launchOptions), "RESULT ");
    }

    /** A plain DJL Trainer in one process: the single-worker baseline. */
    double[] plainDjl() throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--mode", "djl"));
        args.addAll(setup.args());
        return result(WorkerProcesses.run(1, ScalingWorker.class.getName(), args, r -> WorkerEnv.MALLOC_DEFAULTS, Launches.TIMEOUT_S), "RESULT ");
    }

    /**
     * What the machine allows {@code n} workers without communication: {@code n} plain DJL Trainers
     * as independent processes whose timed steps start together. Returns their summed samples/s
     * and mean step time.
     */
    double[] ceiling(int n) throws IOException, InterruptedException {
        Path barrier = Files.createTempDirectory("trainyard-ceiling-");
        try {
            List<String> args = new ArrayList<>(List.of("--mode", "djl"));
            args.addAll(setup.args());
            args.addAll(List.of("--start-together", barrier.toString(), Integer.toString(n)));
            List<List<String>> out = WorkerProcesses.runAll(n, r -> WorkerProcesses.java(ScalingWorker.class.getName(), args),
                    r -> WorkerEnv.MALLOC_DEFAULTS, Launches.TIMEOUT_S);
            double samples = 0;
            double step = 0;
            for (List<String> lines : out) {
                double[] r = result(lines, "RESULT ");
                samples += r[0];
                step += r[1] / n;
            }
            return new double[] {samples, step};
        } finally {
            try (var files = Files.list(barrier)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(barrier);
        }
    }

    /** PyTorch DDP over Gloo, one Python process per rank (on its simulated host with a cluster). */
    double[] torchDdp(int n) throws IOException, InterruptedException {
        Path script = Files.createTempFile("trainyard-ddp-", ".py");
        try (InputStream in = TrainingRuns.class.getResourceAsStream("/python/ddp_train.py")) {
            if (in == null) {
                throw new IOException("ddp_train.py is missing from the benchmarks jar; rebuild with mvn package");
            }
            Files.write(script, in.readAllBytes());
        }
        int port = Launches.freePort();
        try {
            List<String> py = new ArrayList<>(List.of(GlooPeer.PYTHON, script.toString()));
            py.addAll(setup.args());
            List<String> lines = WorkerProcesses.run(n, r -> {
                List<String> cmd = new ArrayList<>(cluster.map(c -> c.exec(r)).orElse(List.of()));
                cmd.addAll(py);
                return cmd;
            }, r -> {
                Map<String, String> env = new HashMap<>(WorkerEnv.MALLOC_DEFAULTS);
                env.put("RANK", Integer.toString(r));
                env.put("WORLD_SIZE", Integer.toString(n));
                env.put("MASTER_ADDR", cluster.map(c -> c.address(0)).orElse("127.0.0.1"));
                env.put("MASTER_PORT", Integer.toString(port));
                cluster.ifPresent(c -> env.put("GLOO_SOCKET_IFNAME", c.device(r)));
                return env;
            }, Launches.TIMEOUT_S);
            lines.stream().filter(l -> l.startsWith("PEER ")).findFirst().ifPresent(l -> peer = l.substring(5));
            return result(lines, "RESULT ");
        } finally {
            Files.deleteIfExists(script);
        }
    }

    /** The numbers after {@code prefix} on rank 0's RESULT line. */
    private static double[] result(List<String> lines, String prefix) throws IOException {
        for (String l : lines) {
            if (l.startsWith(prefix)) {
                return Arrays.stream(l.substring(prefix.length()).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
            }
        }
        throw new IOException("no result line in the output: " + lines);
    }

    /** Median of one field over repeats. */
    static double median(List<double[]> runs, int field) {
        double[] v = runs.stream().mapToDouble(r -> r[field]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
