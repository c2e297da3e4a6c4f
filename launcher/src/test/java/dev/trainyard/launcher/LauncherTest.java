package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real launcher processes starting real worker JVMs on loopback. */
class LauncherTest {
    private static final Duration RUN = Duration.ofSeconds(90);

    @TempDir
    Path tmp;

    private List<String> args(String... more) {
        List<String> a = new ArrayList<>(List.of("--run-dir", tmp.resolve("run").toString(), "--grace-period", "3s"));
        a.addAll(List.of(more));
        return a;
    }

    @ParameterizedTest(name = "{0} worker(s)")
    @ValueSource(ints = {1, 2, 4})
    void workersAllReduceAndCheckTheResult(int n) throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", Integer.toString(n), "--example", "allreduce",
                "--", "--iterations", "3", "--elements", "70000"))) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.matches("(?s).*rendezvous store listening on 127\\.0\\.0\\.1:\\d+.*"), out);
            for (int r = 0; r < n; r++) {
                assertTrue(out.contains("[rank " + r + "] rank " + r + ": all-reduce check passed (3 iterations x 70000 floats over "
                        + n + " ranks"), out);
                String log = Files.readString(tmp.resolve("run").resolve("rank-" + r + ".log"));
                assertTrue(log.contains("all-reduce check passed"), log);
            }
        }
    }

    @Test
    void workerExitCodeBecomesTheLaunchersAndNothingSurvives() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "3", ScriptedWorker.class.getName(),
                "--fail-rank", "1", "--code", "3", "--spawn-child"))) {
            assertEquals(3, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("rank 1 (node 0, pid " + l.pidOfRank(1) + ") failed first: exit code 3"), out);
            assertTrue(out.contains("last lines of") && out.contains("    rank 1 exits on purpose"), out);
            Set<Long> pids = l.reportedPids();
            assertEquals(6, pids.size(), "3 workers and their 3 children: " + out);
            LauncherProcess.assertAllGone(pids, Duration.ofSeconds(2));
        }
    }

    @Test
    void aWorkersExceptionReachesTheConsoleAndTheFailureRecord() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "2", ScriptedWorker.class.getName(),
                "--throw-rank", "1", "--stay"))) {
            assertEquals(1, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("rank 1 (node 0, pid " + l.pidOfRank(1) + ") failed first: exit code 1"), out);
            // the first line of a 40-frame trace is beyond the 20-line log tail: it came from the error file
            assertTrue(out.contains("trainyard:     java.lang.IllegalStateException: the data shard is empty"), out);
            assertTrue(out.contains("trainyard:     Caused by: java.io.FileNotFoundException: /data/shard-7"), out);
            String record = Files.readString(tmp.resolve("run").resolve("failure-attempt-1.txt"));
            assertTrue(record.startsWith("exit code 1\n") && record.contains("the data shard is empty"), record);
            LauncherProcess.assertAllGone(l.reportedPids(), Duration.ofSeconds(2));
        }
    }

    @Test
    void workerKilledMidCollectiveStopsTheOthersWithinTheGracePeriod() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "3", "--example", "allreduce",
                "--", "--iterations", "1000000", "--elements", "50000"))) {
            l.awaitLines(s -> s.contains(" ready (pid "), 3, RUN);
            Set<Long> pids = l.reportedPids();
            long victim = l.pidOfRank(1);
            ProcessHandle.of(victim).orElseThrow().destroyForcibly();
            long killedAt = System.nanoTime();
            assertEquals(137, l.awaitExit(RUN), l.output());
            double seconds = (System.nanoTime() - killedAt) / 1e9;
            assertTrue(l.output().contains("rank 1 (node 0, pid " + victim + ") failed first: exit code 137 (killed by signal 9, SIGKILL)"), l.output());
            // detection (100 ms poll) + SIGTERM grace (3 s) + margin for a loaded 2-core machine
            assertTrue(seconds < 3 + 4, "launcher took " + seconds + " s");
            LauncherProcess.assertAllGone(pids, Duration.ofSeconds(1));
            System.out.printf("killed worker: launcher exited %.1f s after SIGKILL (grace period 3 s)%n", seconds);
        }
    }

    @Test
    void workersExitOnTheirOwnWhenTheLauncherIsKilled() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--stay", "--spawn-child"))) {
            l.awaitLines(s -> s.startsWith("[rank") && s.contains("child pid"), 2, RUN);
            Set<Long> pids = l.reportedPids();
            l.process().destroyForcibly();
            LauncherProcess.assertAllGone(pids, Duration.ofSeconds(5));
        }
    }

    @ParameterizedTest(name = "SIG{0}")
    @ValueSource(strings = {"TERM", "INT"})
    void stopSignalToTheLauncherStopsEveryWorker(String signal) throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--stay", "--spawn-child"))) {
            l.awaitLines(s -> s.startsWith("[rank") && s.contains("child pid"), 2, RUN);
            Set<Long> pids = l.reportedPids();
            new ProcessBuilder("kill", "-s", signal, Long.toString(l.process().pid())).start().waitFor();
            int code = l.awaitExit(RUN);
            assertEquals(signal.equals("TERM") ? 143 : 130, code, l.output());
            assertTrue(l.output().contains("stop signal received"), l.output());
            LauncherProcess.assertAllGone(pids, Duration.ofSeconds(1));
        }
    }

    @Test
    void restartedGroupSucceedsAndWorkersSeeTheRestartCount() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "2", "--max-restarts", "1",
                ScriptedWorker.class.getName(), "--fail-rank", "1", "--code", "5", "--first-attempt-only"))) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("failed first: exit code 5"), out);
            assertTrue(out.contains("restarting the group (restart 1 of 1)"), out);
            assertTrue(out.contains("[rank 0] ready rank 0 pid") && out.contains("restart 1"), out);
            assertTrue(out.contains("[rank 1] rank 1 done"), out);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("run"))),
                    "a run directory the launcher creates is its owner's only");
            String log = Files.readString(tmp.resolve("run").resolve("rank-1.log"));
            assertTrue(log.contains("attempt 1") && log.contains("attempt 2"), log);
        }
    }

    @Test
    void exhaustedRestartsEndWithTheWorkersCode() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "2", "--max-restarts", "1",
                ScriptedWorker.class.getName(), "--fail-rank", "0", "--code", "4"))) {
            assertEquals(4, l.awaitExit(RUN), l.output());
            assertEquals(2, l.output().split("failed first: exit code 4", -1).length - 1, l.output());
        }
    }

    @Test
    void workersGetTheirEnvironmentAndPinnedGpuButNoTokenOnTheCommandLine() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(List.of(), args("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--print-env"),
                Map.of("CUDA_VISIBLE_DEVICES", "3,5"))) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            for (int r = 0; r < 2; r++) {
                String p = "[rank " + r + "] env ";
                assertTrue(out.contains(p + "RANK=" + r) && out.contains(p + "LOCAL_RANK=" + r) && out.contains(p + "WORLD_SIZE=2")
                        && out.contains(p + "LOCAL_WORLD_SIZE=2") && out.contains(p + "NODE_RANK=0")
                        && out.contains(p + "MASTER_ADDR=127.0.0.1") && out.contains(p + "TRAINYARD_RESTART_COUNT=0"), out);
                assertTrue(out.contains("[rank " + r + "] token on command line: false"), out);
            }
            assertTrue(out.contains("[rank 0] env CUDA_VISIBLE_DEVICES=3") && out.contains("[rank 1] env CUDA_VISIBLE_DEVICES=5"), out);
            assertTrue(out.contains("[rank 0] env MALLOC_MMAP_THRESHOLD_=33554432"), out);
            int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
            assertTrue(out.contains("[rank 1] env OMP_NUM_THREADS=" + threads), "the cores shared out, not one thread per core each: " + out);
            // NCCL's unauthenticated sockets stay on the interface of --bind (127.0.0.1: the loopback one)
            String lo = NetworkInterface.getByInetAddress(InetAddress.getLoopbackAddress()).getName();
            assertTrue(out.contains("[rank 1] env NCCL_SOCKET_IFNAME==" + lo) && out.contains("[rank 1] env NCCL_SOCKET_FAMILY=AF_INET"), out);
            String port = out.replaceAll("(?s).*rendezvous store listening on 127\\.0\\.0\\.1:(\\d+).*", "$1");
            assertTrue(out.contains("[rank 1] env MASTER_PORT=" + port), out);
        }
    }

    /** The stall watch looks for a process that stopped running, not for a long step: 6 s of compute under a 2 s stall timeout. */
    @Test
    void aWorkerComputingLongerThanTheStallTimeoutIsNotFlagged() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "1", "--stall-timeout", "2s", ScriptedWorker.class.getName(),
                "--busy-seconds", "6"))) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("[rank 0] rank 0 computed busily"), l.output());
            assertFalse(l.output().contains("frozen"), l.output());
        }
    }

    @Test
    void slurmEnvironmentIsRead() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(List.of(), args("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--print-env"),
                Map.of("SLURM_NNODES", "1", "SLURM_NODEID", "0", "SLURM_JOB_NODELIST", "localhost"))) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("[rank 1] env MASTER_ADDR=localhost"), l.output());
        }
    }

    @Test
    void badInputIsOneLineAndExitCode2() throws Exception {
        try (LauncherProcess l = LauncherProcess.start(args("--nproc-per-node", "0", "--example", "allreduce"))) {
            assertEquals(2, l.awaitExit(RUN));
            assertEquals("trainyard launch: --nproc-per-node must be at least 1, got 0", l.output().strip());
        }
    }

    @Test
    void takenPortIsAClearErrorNotAHang() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
             LauncherProcess l = LauncherProcess.start(args("--master-port", Integer.toString(taken.getLocalPort()), "--example", "allreduce"))) {
            assertEquals(2, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()) && l.output().contains("choose another port"), l.output());
        }
    }

    @Test
    void unreachableMasterFailsAfterTheRendezvousTimeout() throws Exception {
        Path token = tmp.resolve("job.token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (LauncherProcess l = LauncherProcess.start(args("--nnodes", "2", "--node-rank", "1", "--bind", "127.0.0.1",
                "--master-addr", "127.0.0.1", "--master-port", Integer.toString(port), "--token-file", token.toString(),
                "--timeout", "2s", "--example", "allreduce"))) {
            assertEquals(1, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("cannot reach the rendezvous store at 127.0.0.1:" + port + " within 2 s"), l.output());
            assertFalse(l.output().contains("[rank"), "no worker may start: " + l.output());
        }
    }

    @Test
    void missingNodeIsNamedWhenRendezvousTimesOut() throws Exception {
        Path token = tmp.resolve("job.token");
        Files.writeString(token, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        Files.setPosixFilePermissions(token, java.nio.file.attribute.PosixFilePermissions.fromString("r--------"));
        try (LauncherProcess l = LauncherProcess.start(args("--nnodes", "3", "--node-rank", "0", "--bind", "127.0.0.1",
                "--token-file", token.toString(), "--timeout", "2s", "--example", "allreduce"))) {
            assertEquals(1, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("node(s) 1, 2 of 3 did not join"), l.output());
        }
    }

    static Path writeFile(Path p, String text) throws IOException {
        Files.writeString(p, text);
        return p;
    }
}
