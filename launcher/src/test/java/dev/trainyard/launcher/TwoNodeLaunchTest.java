package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trainyard.launcher.netsim.SimulatedCluster;
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
        Files.writeString(token, "f00dfeedf00dfeedf00dfeedf00dfeed");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
    }

    private LauncherProcess node(SimulatedCluster hosts, int node, String... worker) {
        List<String> args = new ArrayList<>(List.of("--nnodes", "2", "--node-rank", Integer.toString(node), "--nproc-per-node", "2",
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
}
