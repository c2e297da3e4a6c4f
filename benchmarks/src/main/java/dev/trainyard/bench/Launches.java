package dev.trainyard.bench;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.launcher.TrainyardCli;
import dev.trainyard.testbed.SimulatedCluster;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs a benchmark worker under Trainyard's real launcher and returns what rank 0 printed: one
 * launcher for all N workers on loopback, or, on a {@link SimulatedCluster}, one launcher per
 * simulated host ({@code --nnodes}, N / hosts workers each), exactly as on a real cluster.
 */
final class Launches {
    static final long TIMEOUT_S = 3600;
    private static final String RANK0 = "[rank 0] ";
    /** Rank 0's result lines come from the console (--verbose); each repeat is a fresh launch, so no preflight each time. */
    private static final List<String> LAUNCH_OPTIONS = List.of("--verbose", "--no-preflight");

    private Launches() {
    }

    static List<String> rank0Lines(int n, List<String> worker, Optional<SimulatedCluster> cluster) throws IOException, InterruptedException {
        return rank0Lines(n, worker, cluster, List.of());
    }

    /** @param launchOptions more options for every launcher (e.g. mutual TLS) */
    static List<String> rank0Lines(int n, List<String> worker, Optional<SimulatedCluster> cluster, List<String> launchOptions)
            throws IOException, InterruptedException {
        return rank0Lines(n, 1, worker, cluster, launchOptions);
    }

    /** @param perHost workers on each simulated host (with a cluster; {@code n / perHost} hosts) */
    static List<String> rank0Lines(int n, int perHost, List<String> worker, Optional<SimulatedCluster> cluster, List<String> launchOptions)
            throws IOException, InterruptedException {
        Path runDir = Files.createTempDirectory("trainyard-bench-");
        List<String> lines;
        if (cluster.isEmpty()) {
            List<String> launch = new ArrayList<>(List.of("launch", "--nproc-per-node", Integer.toString(n), "--run-dir",
                    runDir.toString(), "--grace-period", "2s"));
            launch.addAll(LAUNCH_OPTIONS);
            launch.addAll(launchOptions);
            launch.addAll(worker);
            lines = WorkerProcesses.run(1, r -> WorkerProcesses.java(TrainyardCli.class.getName(), launch), r -> Map.of(), TIMEOUT_S);
        } else {
            SimulatedCluster c = cluster.get();
            Path token = runDir.resolve("job.token");
            Files.writeString(token, JobToken.generate().value());
            Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
            int port = freePort();
            lines = WorkerProcesses.run(n / perHost, node -> {
                List<String> launch = new ArrayList<>(List.of("launch", "--nnodes", Integer.toString(n / perHost), "--node-rank", Integer.toString(node),
                        "--nproc-per-node", Integer.toString(perHost), "--bind", c.address(node), "--master-addr", c.address(0), "--master-port", Integer.toString(port),
                        "--token-file", token.toString(), "--run-dir", runDir.resolve("node-" + node).toString(), "--grace-period", "2s"));
                launch.addAll(LAUNCH_OPTIONS);
                launch.addAll(launchOptions);
                launch.addAll(worker);
                List<String> cmd = new ArrayList<>(c.exec(node));
                cmd.addAll(WorkerProcesses.java(TrainyardCli.class.getName(), launch));
                return cmd;
            }, r -> Map.of(), TIMEOUT_S);
        }
        return lines.stream().filter(l -> l.startsWith(RANK0)).map(l -> l.substring(RANK0.length())).toList();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
