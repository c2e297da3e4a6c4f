package dev.trainyard.launcher;

import dev.trainyard.runtime.RunLayout;
import dev.trainyard.runtime.Durations;
import dev.trainyard.runtime.ErrorFile;
import dev.trainyard.runtime.WorkerEnv;
import dev.trainyard.runtime.WorkerMain;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * This node's workers of one rendezvous generation: started together, watched for the first
 * failure (in the order the exits happened), stopped together.
 */
final class WorkerGroup {
    /** A worker that exited; {@code code} 0 is success. */
    record Exit(Worker worker, int code) {
    }

    private final List<Worker> workers = new ArrayList<>();
    private final List<Exit> exits = new ArrayList<>();
    private boolean stopping;

    private WorkerGroup() {
    }

    /** {@code RUN_DIR/rank-N.log}: the worker's output, every attempt appended. */
    static Path logOf(Path runDir, int rank) {
        return RunLayout.log(runDir, rank);
    }

    /**
     * @param restart the workers' restart count: earlier attempts of the run, including those of
     *                launches it was resumed from
     * @param preflight whether the workers check the machine first (the first attempt of a launch)
     */
    static WorkerGroup start(LaunchPlan plan, int restart, PreflightMode preflight, int storePort, String storePrefix,
                             Consumer<String> console) {
        WorkerGroup group = new WorkerGroup();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cp = new ArrayList<>(List.of(System.getProperty("java.class.path")));
        cp.addAll(plan.entry().classpath());
        try {
            for (int local = 0; local < plan.nprocPerNode(); local++) {
                int rank = plan.globalRank(local);
                Files.deleteIfExists(ErrorFile.of(plan.runDir(), rank)); // an earlier attempt's error is not this one's
                List<String> cmd = new ArrayList<>(ProcessTree.sessionLeaderPrefix());
                cmd.add(java);
                cmd.addAll(plan.jvmOpts());
                cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), WorkerMain.class.getName(), plan.entry().mainClass()));
                cmd.addAll(plan.workerArgs());
                Worker w = Worker.start(rank, cmd, environment(plan, local, restart, preflight, storePort, storePrefix),
                        logOf(plan.runDir(), rank), "=== trainyard: rank " + rank + ", attempt " + (restart + 1) + " ===", console);
                group.add(w);
            }
        } catch (IOException e) {
            group.stop(plan.gracePeriod());
            throw new UncheckedIOException("cannot clear an earlier error file in " + plan.runDir() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            group.stop(plan.gracePeriod());
            throw e;
        }
        return group;
    }

    private static Map<String, String> environment(LaunchPlan plan, int local, int restart, PreflightMode preflight, int storePort,
                                                   String storePrefix) {
        Map<String, String> env = new HashMap<>();
        WorkerEnv.MALLOC_DEFAULTS.forEach((k, v) -> {
            if (System.getenv(k) == null) {
                env.put(k, v);
            }
        });
        env.put(WorkerEnv.RANK, Integer.toString(plan.globalRank(local)));
        env.put(WorkerEnv.LOCAL_RANK, Integer.toString(local));
        env.put(WorkerEnv.WORLD_SIZE, Integer.toString(plan.worldSize()));
        env.put(WorkerEnv.LOCAL_WORLD_SIZE, Integer.toString(plan.nprocPerNode()));
        env.put(WorkerEnv.NODE_RANK, Integer.toString(plan.nodeRank()));
        env.put(WorkerEnv.MASTER_ADDR, plan.masterAddr());
        env.put(WorkerEnv.MASTER_PORT, Integer.toString(storePort));
        env.put(WorkerEnv.RESTART_COUNT, Integer.toString(restart));
        env.put(WorkerEnv.TOKEN, plan.token().value());
        env.put(WorkerEnv.BIND, plan.bind());
        env.putAll(NcclSocketEnv.forBind(plan.bind(), System.getenv()));
        env.put(WorkerEnv.RUN_DIR, plan.runDir().toAbsolutePath().toString());
        env.put(WorkerEnv.BACKEND, plan.backend().cliName());
        env.put(WorkerEnv.RENDEZVOUS_TIMEOUT, Durations.format(plan.rendezvousTimeout()));
        plan.collectiveTimeout().ifPresent(t -> env.put(WorkerEnv.COLLECTIVE_TIMEOUT, Durations.format(t)));
        env.put(WorkerEnv.STORE_PREFIX, storePrefix);
        List<Path> tls = plan.security().files();
        if (!tls.isEmpty()) {
            env.put(WorkerEnv.TLS_CERT, tls.get(0).toString());
            env.put(WorkerEnv.TLS_KEY, tls.get(1).toString());
            env.put(WorkerEnv.TLS_CA, tls.get(2).toString());
        }
        env.put(WorkerEnv.PREFLIGHT, preflight.envValue());
        env.put(WorkerEnv.MIN_FREE_DISK, Long.toString(plan.minFreeDisk()));
        env.put(WorkerEnv.TRACE, plan.trace());
        env.put(WorkerEnv.TRANSPORT, plan.transport().cliName());
        env.put(WorkerEnv.LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
        if (!plan.gpuIds().isEmpty()) {
            // pinned before the JVM starts, so CUDA in the worker only ever sees its own device
            env.put(WorkerEnv.CUDA_VISIBLE_DEVICES, plan.gpuIds().get(local));
        }
        return env;
    }

    private synchronized void add(Worker w) {
        workers.add(w);
        w.process().onExit().thenAccept(p -> recordExit(w, p.exitValue()));
    }

    private synchronized void recordExit(Worker w, int code) {
        if (!stopping) {
            exits.add(new Exit(w, code));
        }
    }

    /** The first worker that exited non-zero before the group was told to stop. */
    synchronized Optional<Exit> firstFailure() {
        return exits.stream().filter(e -> e.code() != 0).findFirst();
    }

    synchronized boolean allSucceeded() {
        return exits.size() == workers.size() && exits.stream().allMatch(e -> e.code() == 0);
    }

    synchronized List<Worker> workers() {
        return List.copyOf(workers);
    }

    synchronized int running() {
        return (int) workers.stream().filter(w -> w.process().isAlive()).count();
    }

    /** SIGTERM, then SIGKILL after {@code grace}, to every worker and its children; exits after this are not failures. */
    void stop(Duration grace) {
        List<ProcessHandle> roots;
        synchronized (this) {
            stopping = true;
            roots = workers.stream().map(w -> w.process().toHandle()).toList();
        }
        ProcessTree.stop(roots, grace);
    }
}
