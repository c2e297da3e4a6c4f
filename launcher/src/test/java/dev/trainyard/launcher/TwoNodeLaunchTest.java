package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trainyard.testbed.SimulatedCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two launchers on two simulated hosts (network namespaces), two workers each. Root only; skipped with the reason otherwise. */
class TwoNodeLaunchTest {
    private static final Duration RUN = Duration.ofSeconds(120);
    private static final String PORT = "29517";

    @TempDir
    Path tmp;
    private Path token;

    @BeforeEach
    void needNamespaces() throws Exception {
        String why = SimulatedCluster.unavailableReason();
        if (why != null) {
            System.out.println("SKIPPED TwoNodeLaunchTest: " + why);
        }
        assumeTrue(why == null, why);
        token = tmp.resolve("job.token");
        Files.writeString(token, "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeedf00dfeed");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    }

    private LauncherProcess node(SimulatedCluster hosts, int node, String... worker) {
        return node(hosts, node, 2, worker);
    }

    private LauncherProcess node(SimulatedCluster hosts, int node, int workers, String... worker) {
        List<String> args = new ArrayList<>(List.of("--nnodes", "2", "--node-rank", Integer.toString(node), "--nproc-per-node",
                Integer.toString(workers),
                "--bind", hosts.address(node), "--master-addr", hosts.address(0), "--master-port", PORT,
                "--token-file", token.toString(), "--run-dir", tmp.resolve("node" + node).toString(), "--timeout", "60s",
                "--grace-period", "3s"));
        args.addAll(List.of(worker));
        return LauncherProcess.start(hosts.exec(node), args, Map.of());
    }

    @Test
    void fourWorkersOnTwoHostsAllReduce() throws Exception {
        try (SimulatedCluster hosts = SimulatedCluster.create(2, Optional.empty());
             LauncherProcess n0 = node(hosts, 0, "--example", "allreduce", "--", "--iterations", "3", "--elements", "300000");
             LauncherProcess n1 = node(hosts, 1, "--example", "allreduce", "--", "--iterations", "3", "--elements", "300000")) {
            assertEquals(0, n0.awaitExit(RUN), n0.output());
            assertEquals(0, n1.awaitExit(RUN), n1.output());
            assertTrue(n0.output().contains("rendezvous store listening on " + hosts.address(0) + ":" + PORT), n0.output());
            // two ranks on each host: inside each host, across, inside again
            assertTrue(n0.output().contains("all-reduce above 65536 bytes: hierarchical (2 hosts x 2 ranks)"), n0.output());
            for (int r = 0; r < 4; r++) {
                String out = r < 2 ? n0.output() : n1.output();
                assertTrue(out.contains("[rank " + r + "] rank " + r + ": all-reduce check passed (3 iterations x 300000 floats over 4 ranks"), out);
            }
        }
    }

    @Test
    void aFailureOnOneHostStopsBothWithItsExitCode() throws Exception {
        try (SimulatedCluster hosts = SimulatedCluster.create(2, Optional.empty());
             LauncherProcess n0 = node(hosts, 0, ScriptedWorker.class.getName(), "--fail-rank", "3", "--code", "3", "--stay");
             LauncherProcess n1 = node(hosts, 1, ScriptedWorker.class.getName(), "--fail-rank", "3", "--code", "3", "--stay")) {
            assertEquals(3, n1.awaitExit(RUN), n1.output());
            assertEquals(3, n0.awaitExit(RUN), n0.output());
            assertTrue(n0.output().contains("rank 3 (node 1, pid " + n1.pidOfRank(3) + ") failed first: exit code 3"), n0.output());
            LauncherProcess.assertAllGone(n0.reportedPids(), Duration.ofSeconds(2));
            LauncherProcess.assertAllGone(n1.reportedPids(), Duration.ofSeconds(2));
        }
    }

    /**
     * Each node has its own run directory here, as nodes without a shared filesystem have: ZeRO-1's
     * checkpoints cannot be one shard per rank in one directory, so rank 0 gathers the state and
     * writes it as one file, and says so once.
     */
    @Test
    void shardedCheckpointsWithoutASharedDirectoryAreGatheredToRankZero() throws Exception {
        String[] worker = {TrainingWorker.class.getName(), "--batch", "8", "--samples", "64", "--epochs", "1", "--checkpoint-every", "2",
            "--optimizer", "adamw", "--zero"};
        try (SimulatedCluster hosts = SimulatedCluster.create(2, Optional.empty());
             LauncherProcess n0 = node(hosts, 0, 1, worker);
             LauncherProcess n1 = node(hosts, 1, 1, worker)) {
            assertEquals(0, n0.awaitExit(RUN), n0.output());
            assertEquals(0, n1.awaitExit(RUN), n1.output());
            String out = n0.output();
            assertEquals(1, out.split("is not one directory shared by every rank", -1).length - 1, out);
            assertTrue(out.matches("(?s).*\\[rank 0] checkpoint \\S+checkpoint-0+4\\.tyck written \\(step 4, adamw state crc32 [0-9a-f]+\\).*"), out);
            try (var files = Files.walk(tmp.resolve("node1"))) {
                List<Path> strays = files.filter(f -> f.getFileName().toString().contains("checkpoint-")).toList();
                assertTrue(strays.isEmpty(), "rank 1 wrote no shard of its own: " + strays);
            }
        }
    }

    @Test
    void aStopSignalToNodeZeroEndsNodeOneWithOneLineAndBothKeepTheirRecords() throws Exception {
        try (SimulatedCluster hosts = SimulatedCluster.create(2, Optional.empty());
             LauncherProcess n0 = node(hosts, 0, 1, ScriptedWorker.class.getName(), "--stay", "--spawn-child");
             LauncherProcess n1 = node(hosts, 1, 1, ScriptedWorker.class.getName(), "--stay", "--spawn-child")) {
            n0.awaitLines(l -> l.contains("child pid"), 1, RUN);
            n1.awaitLines(l -> l.contains("child pid"), 1, RUN);
            new ProcessBuilder("kill", "-TERM", Long.toString(n0.process().pid())).start().waitFor();
            long signalledAt = System.nanoTime();
            assertEquals(1, n1.awaitExit(RUN), n1.output());
            double node1Seconds = (System.nanoTime() - signalledAt) / 1e9;
            assertEquals(143, n0.awaitExit(RUN), n0.output());
            assertTrue(node1Seconds < 20, "node 1 took " + node1Seconds + " s:\n" + n1.output());
            assertTrue(n1.output().contains("trainyard: node 0's launcher received a stop signal (SIGTERM or SIGINT); the job was stopped"),
                    n1.output());
            for (LauncherProcess n : List.of(n0, n1)) {
                assertFalse(n.output().contains("Exception") || n.output().contains("\tat "), n.output());
            }
            for (int node = 0; node < 2; node++) {
                Path dir = tmp.resolve("node" + node);
                String attempts = Files.readString(dir.resolve("attempts-node-" + node + ".jsonl"));
                assertTrue(attempts.contains(node == 0 ? "\"stopped\"" : "\"failed\""), attempts);
                assertTrue(Files.exists(dir.resolve("report.json")), "no report in " + dir);
            }
            LauncherProcess.assertAllGone(n0.reportedPids(), Duration.ofSeconds(2));
            LauncherProcess.assertAllGone(n1.reportedPids(), Duration.ofSeconds(2));
            System.out.printf("SIGTERM to node 0: node 1 exited after %.1f s (grace period 3 s)%n", node1Seconds);
        }
    }

    @Test
    void aNetworkCutIsDetectedWithinTheTimeoutNamingTheUnreachableHost() throws Exception {
        String[] worker = {"--collective-timeout", "4s", "--example", "allreduce", "--", "--iterations", "100000000", "--elements", "20000"};
        try (SimulatedCluster hosts = SimulatedCluster.create(2, Optional.empty());
             LauncherProcess n0 = node(hosts, 0, worker);
             LauncherProcess n1 = node(hosts, 1, worker)) {
            n0.awaitLines(l -> l.contains(" ready (pid "), 2, RUN);
            n1.awaitLines(l -> l.contains(" ready (pid "), 2, RUN);
            hosts.cut(1); // "ready" is printed once all connections stand, right before the all-reduce loop
            long cutAt = System.nanoTime();
            assertEquals(1, n0.awaitExit(RUN), n0.output());
            double node0Seconds = (System.nanoTime() - cutAt) / 1e9;
            assertEquals(1, n1.awaitExit(RUN), n1.output());
            double node1Seconds = (System.nanoTime() - cutAt) / 1e9;
            // node 0's workers name node 1's ranks by its address; node 1's name node 0's
            assertTrue(n0.output().matches("(?s).*rank [23] at " + hosts.address(1).replace(".", "\\.") + ":\\d+ does not answer.*"), n0.output());
            assertTrue(n1.output().matches("(?s).*rank [01] at " + hosts.address(0).replace(".", "\\.") + ":\\d+ does not answer.*"), n1.output());
            // collective timeout 4 s + progress query 2 s + grace 3 s + margin; node 1 also waits out
            // up to three 3 s store calls that cannot arrive (poll, heartbeat, failure report)
            assertTrue(node0Seconds < 4 + 2 + 3 + 8, "node 0 took " + node0Seconds + " s:\n" + n0.output());
            assertTrue(node1Seconds < 4 + 2 + 3 + 9 + 8, "node 1 took " + node1Seconds + " s");
            LauncherProcess.assertAllGone(n0.reportedPids(), Duration.ofSeconds(2));
            LauncherProcess.assertAllGone(n1.reportedPids(), Duration.ofSeconds(2));
            System.out.printf("network cut: node 0 exited after %.1f s, node 1 after %.1f s (collective timeout 4 s)%n",
                    node0Seconds, node1Seconds);
        }
    }
}
