package dev.trainyard.launcher.supervise;

import dev.trainyard.launcher.LogFormat;
import dev.trainyard.launcher.plan.LaunchPlan;
import dev.trainyard.launcher.plan.NcclSocketEnv;

import dev.trainyard.runtime.RunLayout;
import dev.trainyard.runtime.UserCache;
import dev.trainyard.runtime.ErrorFile;
import dev.trainyard.runtime.PreflightMode;
import dev.trainyard.runtime.WorkerContext;
import dev.trainyard.runtime.WorkerEnv;
import dev.trainyard.runtime.WorkerStartup;
import dev.trainyard.collectives.CommunicatorOptions;
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
public final class WorkerGroup {
    /** A worker that exited; {@code code} 0 is success. */
    record Exit(Worker worker, int code) {
    }

    private final List<Worker> workers = new ArrayList<>();
    private final List<Exit> exits = new ArrayList<>();
    private boolean stopping;
    private Optional<WorkerClassArchive> classArchive = Optional.empty();

    private WorkerGroup() {
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
        List<String> jvmOptions = new ArrayList<>(LogFormat.workerJvmOptions(plan.jvmOpts()));
        jvmOptions.addAll(plan.jvmOpts());
        if (plan.classDataSharing()) {
            group.classArchive = WorkerClassArchive.of(UserCache.dir(), java, jvmOptions, cp);
        }
        try {
            for (int local = 0; local < plan.nprocPerNode(); local++) {
                int rank = plan.globalRank(local);
                Files.deleteIfExists(ErrorFile.of(plan.runDir(), rank)); // an earlier attempt's error is not this one's
                List<String> cmd = new ArrayList<>(ProcessTree.sessionLeaderPrefix());
                cmd.add(java);
                cmd.addAll(jvmOptions);
                int localRank = local;
                group.classArchive.ifPresent(a -> cmd.addAll(a.jvmOptions(localRank)));
                cmd.addAll(List.of("-cp", String.join(File.pathSeparator, cp), WorkerMain.class.getName(), plan.entry().mainClass()));
                cmd.addAll(plan.workerArgs());
                Worker w = Worker.start(rank, cmd, environment(plan, local, restart, preflight, storePort, storePrefix),
                        RunLayout.log(plan.runDir(), rank), "=== trainyard: rank " + rank + ", attempt " + (restart + 1) + " ===", console);
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

    /**
     * libtorch's intra-op threads (it reads OpenMP's variable). Left alone, every worker starts one
     * per core, so N workers on a node run N threads per core and each compute phase stretches
     * (torchrun sets 1 for the same reason); the user's own value wins.
     */
    static final String INTRA_OP_THREADS = "OMP_NUM_THREADS";

    /** The node's cores shared out among its workers, at least one each. */
    private static int intraOpThreads(int workersPerNode) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / workersPerNode);
    }

    private static Map<String, String> environment(LaunchPlan plan, int local, int restart, PreflightMode preflight, int storePort,
                                                   String storePrefix) {
        Map<String, String> env = new HashMap<>();
        WorkerEnv.MALLOC_DEFAULTS.forEach((k, v) -> {
            if (System.getenv(k) == null) {
                env.put(k, v);
            }
        });
        if (System.getenv(INTRA_OP_THREADS) == null) {
            env.put(INTRA_OP_THREADS, Integer.toString(intraOpThreads(plan.nprocPerNode())));
        }
        env.putAll(NcclSocketEnv.forBind(plan.bind(), System.getenv()));
        WorkerStartup startup = new WorkerStartup(preflight, plan.minFreeDisk(), plan.trace(),
                plan.gpuIds().isEmpty() ? Optional.empty() : Optional.of(plan.gpuIds().get(local)));
        env.putAll(new WorkerContext(plan.globalRank(local), local, plan.worldSize(), plan.nprocPerNode(), plan.nodeRank(),
                plan.masterAddr(), storePort, restart, plan.token(), plan.bind(), plan.runDir().toAbsolutePath(), plan.backend(),
                plan.rendezvousTimeout(), plan.collectiveTimeout().orElse(CommunicatorOptions.DEFAULT_TIMEOUT), storePrefix,
                Optional.of(ProcessHandle.current().pid()), plan.security(), plan.transport(), plan.allReduce(), startup).toEnvironment());
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

    /**
     * Once the group has exited: keeps the class-data archive local rank 0 wrote, if it wrote one
     * and succeeded; returns where it is then.
     */
    synchronized Optional<Path> keepClassArchive() {
        boolean writerSucceeded = !workers.isEmpty() && exits.stream().anyMatch(e -> e.worker() == workers.get(0) && e.code() == 0);
        return classArchive.filter(a -> a.keepIfWritten(writerSucceeded)).map(WorkerClassArchive::archive);
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
