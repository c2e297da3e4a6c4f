package dev.trainyard.launcher;

import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import java.io.IOException;
import java.util.List;

/**
 * A worker whose behaviour the launcher tests choose by arguments:
 * {@code --fail-rank R --code C} (rank R exits with C), {@code --first-attempt-only} (fail only
 * before any restart), {@code --spawn-child} (start a {@code sleep} child), {@code --stay} (keep
 * running until stopped), {@code --busy-seconds S} (compute on the main thread for S seconds), {@code --print-env}, {@code --throw-rank R} (rank R throws from deep in its stack). Prints {@code ready rank R pid P restart K} once joined.
 */
public final class ScriptedWorker {
    private ScriptedWorker() {
    }

    public static void main(String[] args) throws Exception {
        List<String> a = List.of(args);
        try (ProcessGroup pg = Trainyard.init()) {
            System.out.println("ready rank " + pg.rank() + " pid " + ProcessHandle.current().pid() + " restart " + pg.restartCount());
            if (a.contains("--spawn-child")) {
                Process child = spawnSleep();
                System.out.println("child pid " + child.pid() + " of rank " + pg.rank());
            }
            if (a.contains("--print-env")) {
                // the torchrun names, spelled out: they are a contract with users' code, not only with WorkerContext
                for (String name : List.of("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE",
                        "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "TRAINYARD_RESTART_COUNT",
                        "CUDA_VISIBLE_DEVICES", "MALLOC_MMAP_THRESHOLD_", "OMP_NUM_THREADS", "NCCL_SOCKET_IFNAME",
                        "NCCL_SOCKET_FAMILY")) {
                    System.out.println("env " + name + "=" + System.getenv(name));
                }
                String cmdLine = String.join(" ", ProcessHandle.current().info().arguments().orElse(new String[0]));
                System.out.println("token on command line: " + cmdLine.contains(System.getenv("TRAINYARD_TOKEN")));
            }
            int failRank = a.contains("--fail-rank") ? Integer.parseInt(a.get(a.indexOf("--fail-rank") + 1)) : -1;
            boolean fail = pg.rank() == failRank && (!a.contains("--first-attempt-only") || pg.restartCount() == 0);
            if (fail) {
                Thread.sleep(300);
                System.out.println("rank " + pg.rank() + " exits on purpose");
                System.exit(Integer.parseInt(a.get(a.indexOf("--code") + 1)));
            }
            if (pg.rank() == intArg(a, "--throw-rank")) {
                throwFromDeepInside(40);
            }
            if (a.contains("--busy-seconds")) {
                // computes on the main thread without a collective, as a long training step does
                long end = System.nanoTime() + (long) (Double.parseDouble(a.get(a.indexOf("--busy-seconds") + 1)) * 1e9);
                double x = 0;
                while (System.nanoTime() < end) {
                    x += Math.sqrt(x + 1);
                }
                System.out.println("rank " + pg.rank() + " computed " + (x > 0 ? "busily" : "nothing"));
            }
            if (a.contains("--stay")) {
                Thread.sleep(Long.MAX_VALUE);
            }
            pg.communicator().barrier();
            System.out.println("rank " + pg.rank() + " done");
        }
    }

    private static int intArg(List<String> a, String name) {
        return a.contains(name) ? Integer.parseInt(a.get(a.indexOf(name) + 1)) : -1;
    }

    /** A trace longer than the launcher's log tail, so only the error file can carry its first line. */
    private static void throwFromDeepInside(int depth) {
        if (depth == 0) {
            throw new IllegalStateException("the data shard is empty", new java.io.FileNotFoundException("/data/shard-7"));
        }
        throwFromDeepInside(depth - 1);
    }

    private static Process spawnSleep() throws IOException {
        return new ProcessBuilder("sleep", "600").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }
}
