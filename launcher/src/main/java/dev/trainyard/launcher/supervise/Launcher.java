package dev.trainyard.launcher.supervise;

import dev.trainyard.launcher.Clock;
import dev.trainyard.launcher.Console;
import dev.trainyard.launcher.LaunchFailedException;
import dev.trainyard.launcher.observe.MetricsEndpoint;
import dev.trainyard.launcher.observe.Progress;
import dev.trainyard.launcher.plan.LaunchPlan;
import dev.trainyard.launcher.plan.RunDirectory;

import dev.trainyard.runtime.PreflightMode;
import dev.trainyard.runtime.RunLayout;
import dev.trainyard.runtime.UserCache;
import dev.trainyard.collectives.SharedMemoryFiles;
import dev.trainyard.collectives.store.GrpcStore;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreException;
import dev.trainyard.collectives.store.StoreServer;
import dev.trainyard.launcher.report.RunReports;
import dev.trainyard.runtime.Durations;
import dev.trainyard.runtime.ErrorFile;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Consumer;

/**
 * One node's launcher: hosts the rendezvous store on node 0 (or connects to it), then runs
 * rendezvous generations: join the other nodes, start this node's workers, supervise them until
 * the job succeeds or something fails anywhere, stop them, and restart the whole group while
 * {@code --max-restarts} allows. A stop signal (SIGINT/SIGTERM) takes the workers down with it.
 */
public final class Launcher {
    private static final Duration TICK = Duration.ofMillis(100);
    /** The launcher's exit status when a frozen worker ended the job: 1, as when a collective times out on one. */
    static final int FROZEN_EXIT_CODE = 1;
    private static final Duration HEARTBEAT_EVERY = Duration.ofSeconds(1);
    /** A node whose launcher has not beaten for this long is declared lost (died or cut off). */
    private static final Duration NODE_SILENT_AFTER = Duration.ofSeconds(15);
    /** A store that has not answered for this long is gone: node 0's launcher died. */
    private static final Duration STORE_LOST_AFTER = Duration.ofSeconds(15);
    /** Short, so a supervisor cut off from the store still notices its own workers' failures promptly. */
    private static final Duration STORE_CALL_DEADLINE = Duration.ofSeconds(3);
    private static final Duration LEAVE_WAIT = Duration.ofSeconds(10);
    /**
     * How long a stop signal waits for the main thread to tell the other nodes, record the attempt
     * and write the report before the JVM exits: the grace period, node 0's wait for the others to
     * read the outcome, and a few store calls.
     */
    private static final Duration AFTER_STOP_SIGNAL = LEAVE_WAIT.plusSeconds(10);
    /** Enough for the cause and its first frames; the full trace stays in the error file. */
    private static final int MAX_TRACE_LINES = 60;

    private final LaunchPlan plan;
    private final Object lifecycle = new Object();
    private WorkerGroup current;
    private JobRendezvous currentRendezvous;
    private boolean signalled;
    private boolean finished;

    private final Console console;
    private final Clock clock;
    private final HostHistory history = new HostHistory(UserCache.dir());

    public Launcher(LaunchPlan plan, Console console, Clock clock) {
        this.plan = plan;
        this.console = console;
        this.clock = clock;
    }

    public int run() {
        try {
            RunDirectory.prepare(plan.runDir(), console);
        } catch (IOException e) {
            say("cannot create the run directory " + plan.runDir() + ": " + e.getMessage() + "; choose another with --run-dir");
            return 2;
        }
        say("backend " + plan.backend().cliName() + (plan.gpuIds().isEmpty() ? "" : ", GPUs " + String.join(",", plan.gpuIds()))
                + (plan.security().encrypted() ? ", mutual TLS" : "")
                + "; " + plan.worldSize() + " workers (" + plan.nnodes() + " node(s) x " + plan.nprocPerNode()
                + "); logs in " + plan.runDir());
        if (plan.nnodes() > 1 && !plan.security().encrypted()) {
            console.warn("no TLS between the " + plan.nnodes() + " nodes: gradients, parameters and the store's contents cross"
                    + " the network in clear (the job token does not: connections prove it without sending it);"
                    + " give --tls-cert, --tls-key and --tls-ca to encrypt them");
        }
        StoreServer server = null;
        Store store;
        int port;
        try {
            if (plan.hostsStore()) {
                server = StoreServer.start(plan.bind(), plan.masterPort(), plan.token(), plan.security(), plan.rendezvousTimeout());
                store = server.local();
                port = server.port();
                say("rendezvous store listening on " + plan.bind() + ":" + port);
            } else {
                store = connectToStore();
                port = plan.masterPort();
            }
        } catch (IllegalStateException e) {
            say(e.getMessage());
            return 2;
        } catch (LaunchFailedException e) {
            say(e.getMessage());
            return 1;
        }
        Thread hook = new Thread(this::onStopSignal, "trainyard-stop-signal");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runJob(store, port);
        } catch (LaunchFailedException e) {
            say(e.getMessage());
            stopCurrent();
            return 1;
        } catch (StoreException e) {
            say(storeLost("talking to", e).getMessage());
            stopCurrent();
            return 1;
        } finally {
            report();
            store.close();
            if (server != null) {
                server.close();
            }
            synchronized (lifecycle) {
                finished = true;
                lifecycle.notifyAll();
            }
        }
    }

    /** The generations, with this node's progress line (and metrics endpoint) running across all of them. */
    private int runJob(Store store, int port) {
        AttemptLog attempts = new AttemptLog(plan.runDir(), plan.nodeRank(), plan.worldSize(), console);
        int earlier;
        try {
            earlier = attempts.recorded();
        } catch (IOException e) {
            throw new LaunchFailedException("cannot read the attempt log in " + plan.runDir() + ": " + e.getMessage()
                    + "; move it away or choose a new --run-dir", e);
        }
        int[] attempt = {earlier + 1};
        try (Progress progress = plan.preflight() == PreflightMode.ONLY ? null
                     : new Progress(plan.runDir(), plan.globalRank(0), plan.nprocPerNode(), console).start();
             MetricsEndpoint metrics = progress == null || plan.metricsPort().isEmpty() ? null
                     : MetricsEndpoint.start(plan.bind(), plan.metricsPort().get(), progress, () -> attempt[0])) {
            if (metrics != null) {
                say("metrics for Prometheus: http://" + plan.bind() + ":" + metrics.port() + "/metrics");
            }
            return runGenerations(store, port, attempts, earlier, attempt);
        }
    }

    /**
     * @param earlier attempts this node's run directory recorded before this launch ({@code --resume});
     *                the job numbers its attempts (and the workers' restart count) after the most any node has
     */
    private int runGenerations(Store store, int port, AttemptLog attempts, int earlier, int[] attempt) {
        PreflightMode firstChecks = plan.preflight();
        Optional<String> previousFailure = history.previousFailure();
        if (firstChecks == PreflightMode.FIRST && previousFailure.isPresent()) {
            say("the previous run on this host failed (" + previousFailure.get() + "): preflight measures every ring link this time");
            firstChecks = PreflightMode.FIRST_FULL;
        }
        for (int generation = 0; ; generation++) {
            JobRendezvous rdzv = new JobRendezvous(store, plan, generation, clock);
            int jobEarlier;
            try {
                jobEarlier = rdzv.join(earlier);
            } catch (StoreException e) {
                throw storeLost("joining at", e);
            }
            if (generation == 0 && jobEarlier > 0) {
                say("continuing the run after its " + jobEarlier + " earlier attempt(s): workers start with restart count "
                        + jobEarlier + " and resume from their checkpoints");
            }
            int restart = jobEarlier + generation;
            attempt[0] = restart + 1;
            WorkerGroup group;
            synchronized (lifecycle) {
                if (signalled) {
                    return 130;
                }
                currentRendezvous = rdzv;
                say("attempt " + (restart + 1) + ": starting ranks " + plan.globalRank(0) + ".."
                        + plan.globalRank(plan.nprocPerNode() - 1) + " of " + plan.worldSize());
                attempts.started();
                group = WorkerGroup.start(plan, restart, generation == 0 ? firstChecks : PreflightMode.OFF, port,
                        rdzv.workerPrefix(), workerConsole());
                current = group;
            }
            JobFailure failure = supervise(group, rdzv);
            attempts.ended(restart + 1, failure == null ? "ok" : isSignalled() ? "stopped" : "failed",
                    failure == null ? 0 : failure.exitCode(), failure == null ? null : failure.summary());
            if (failure == null) {
                removeSharedMemoryLeftovers();
                group.keepClassArchive().ifPresent(a -> say("class-data archive for the workers written to " + a
                        + ": later launches of this classpath start faster (--cds off: without it)"));
                say(plan.preflight() == PreflightMode.ONLY ? "preflight passed on all " + plan.worldSize() + " workers"
                        : "all " + plan.worldSize() + " workers finished successfully");
                leave(rdzv);
                history.succeeded();
                return 0;
            }
            int running = group.running();
            if (running > 0) {
                say("stopping the " + running + " other worker(s) on this node (SIGTERM, SIGKILL after "
                        + plan.gracePeriod().toMillis() / 1000.0 + " s)");
            }
            group.stop(plan.gracePeriod());
            removeSharedMemoryLeftovers();
            group.keepClassArchive();
            say(failure.summary());
            failure.detail().forEach(l -> say(l));
            record(failure, restart + 1);
            if (!isSignalled()) {
                history.failed(plan.runDir(), failure.summary());
            }
            if (generation < plan.maxRestarts() && !isSignalled()) {
                say("restarting the group (restart " + (generation + 1) + " of " + plan.maxRestarts() + ")");
                continue;
            }
            leave(rdzv);
            return failure.exitCode();
        }
    }

    /** Polls until every node's workers succeeded (null) or the generation's first failure is known. */
    private JobFailure supervise(WorkerGroup group, JobRendezvous rdzv) {
        WorkerLiveness liveness = new WorkerLiveness(plan.stallTimeout());
        long lastBeat = 0;
        long storeTroubleSince = 0;
        boolean done = false;
        while (true) {
            try {
                if (isSignalled()) {
                    return shareFailure(rdzv, stoppedBySignal());
                }
                Optional<WorkerGroup.Exit> local = group.firstFailure();
                if (local.isPresent()) {
                    return shareFailure(rdzv, describe(local.get()));
                }
                Optional<JobFailure> remote = rdzv.failure();
                if (remote.isPresent()) {
                    return remote.get();
                }
                if (!done && group.allSucceeded()) {
                    rdzv.markDone();
                    done = true;
                }
                if (done && rdzv.allDone()) {
                    return null;
                }
                if (System.nanoTime() - lastBeat > HEARTBEAT_EVERY.toNanos()) {
                    lastBeat = System.nanoTime();
                    Optional<WorkerLiveness.Frozen> frozen = liveness.check(group.workers());
                    if (frozen.isPresent()) {
                        return shareFailure(rdzv, describe(frozen.get()));
                    }
                    rdzv.heartbeat();
                    List<Integer> silent = plan.hostsStore() ? rdzv.silentNodes(NODE_SILENT_AFTER) : List.of();
                    if (!silent.isEmpty()) {
                        return rdzv.reportFailure(new JobFailure(1, "node(s) " + silent + " stopped answering for "
                                + NODE_SILENT_AFTER.toSeconds() + " s (launcher died or network cut)", List.of()));
                    }
                }
                storeTroubleSince = 0;
            } catch (StoreException e) {
                if (storeTroubleSince == 0) {
                    storeTroubleSince = System.nanoTime();
                } else if (System.nanoTime() - storeTroubleSince > STORE_LOST_AFTER.toNanos()) {
                    throw storeLost("supervising for " + STORE_LOST_AFTER.toSeconds() + " s at", e);
                }
            }
            clock.sleep(TICK);
        }
    }

    /** One line for a store that failed on a launcher path: where, what it was doing, why, and what to check. */
    private LaunchFailedException storeLost(String during, StoreException e) {
        return new LaunchFailedException("lost the rendezvous store while " + during + " " + plan.masterAddr() + ":" + plan.masterPort()
                + ": " + e.getMessage() + " (node 0's launcher stopped or died, or the network is cut); see node 0's console", e);
    }

    private JobFailure stoppedBySignal() {
        return new JobFailure(1, "node " + plan.nodeRank() + "'s launcher received a stop signal (SIGTERM or SIGINT); the job was stopped",
                List.of());
    }

    /** The generation's first failure, ours or another node's; ours alone when the store cannot be reached (network cut). */
    private JobFailure shareFailure(JobRendezvous rdzv, JobFailure ours) {
        try {
            return rdzv.reportFailure(ours);
        } catch (StoreException e) {
            say("cannot tell the other nodes through the rendezvous store at " + plan.masterAddr() + ":" + plan.masterPort()
                    + " (" + e.getMessage() + "); they detect the failure by their own timeouts");
            return ours;
        }
    }

    private JobFailure describe(WorkerGroup.Exit exit) {
        Worker w = exit.worker();
        String summary = String.format("rank %d (node %d, pid %d) failed first: %s after %.1f s", w.rank(),
                plan.nodeRank(), w.process().pid(), ExitStatus.describe(exit.code()), w.secondsSinceStart());
        List<String> detail = new ArrayList<>();
        Path errorFile = ErrorFile.of(plan.runDir(), w.rank());
        Optional<List<String>> error = ErrorFile.read(errorFile);
        if (error.isPresent()) {
            List<String> trace = error.get();
            detail.add("its exception (" + errorFile + "):");
            trace.stream().limit(MAX_TRACE_LINES).forEach(l -> detail.add("    " + l));
            if (trace.size() > MAX_TRACE_LINES) {
                detail.add("    ... " + (trace.size() - MAX_TRACE_LINES) + " more lines in " + errorFile);
            }
        } else {
            detail.add("last lines of " + w.log() + ":");
            w.tail().forEach(l -> detail.add("    " + l));
        }
        return new JobFailure(exit.code(), summary, detail);
    }

    private JobFailure describe(WorkerLiveness.Frozen f) {
        Worker w = f.worker();
        String summary = String.format(java.util.Locale.ROOT, "rank %d (node %d, pid %d) failed first: frozen, its process has not run for %.1f s"
                + " (state %s; SIGSTOP, a stuck JVM or swapping; --stall-timeout %s)", w.rank(), plan.nodeRank(), w.process().pid(), f.seconds(),
                f.state(), Durations.format(plan.stallTimeout()));
        List<String> detail = new ArrayList<>(List.of("last lines of " + w.log() + ":"));
        w.tailNow().forEach(l -> detail.add("    " + l));
        return new JobFailure(FROZEN_EXIT_CODE, summary, detail);
    }

    /** Worker output goes to the rank logs always, and to the console with --verbose (and for preflight's table). */
    private Consumer<String> workerConsole() {
        return plan.verbose() || plan.preflight() == PreflightMode.ONLY ? System.out::println : line -> { };
    }

    /** Every node writes the report of what its run directory holds; the summary goes to the console. */
    private void report() {
        if (plan.preflight() == PreflightMode.ONLY || !Files.exists(RunLayout.attempts(plan.runDir(), plan.nodeRank()))) {
            return; // a preflight, or no worker ever started: nothing to report
        }
        try {
            say("run: " + RunReports.write(plan.runDir(), null, OptionalDouble.empty()));
            say("report: " + RunLayout.reportHtml(plan.runDir()) + " (timeline: " + RunLayout.timeline(plan.runDir())
                    + "; regenerate with: trainyard report " + plan.runDir() + ")");
        } catch (IOException | RuntimeException e) {
            say("cannot write the run report in " + plan.runDir() + ": " + e.getMessage());
        }
    }

    /** {@code RUN_DIR/failure-attempt-K.txt}: what the console said, kept with the run for its report. */
    private void record(JobFailure failure, int attempt) {
        List<String> lines = new ArrayList<>(List.of("exit code " + failure.exitCode(), failure.summary()));
        lines.addAll(failure.detail());
        try {
            Files.write(RunLayout.failure(plan.runDir(), attempt), lines);
        } catch (IOException e) {
            say("cannot record the failure in " + plan.runDir() + ": " + e.getMessage());
        }
    }

    private void leave(JobRendezvous rdzv) {
        try {
            rdzv.leave();
            if (plan.hostsStore()) {
                rdzv.awaitAllLeft(LEAVE_WAIT, Duration.ofSeconds(3));
            }
        } catch (StoreException e) {
            // the outcome is known; a store gone at this point costs nothing
        }
    }

    /** Other nodes wait for node 0's store (it may start later), but not past the rendezvous timeout. */
    private Store connectToStore() {
        GrpcStore store = new GrpcStore(plan.masterAddr(), plan.masterPort(), plan.token(), plan.security(), plan.rendezvousTimeout(),
                STORE_CALL_DEADLINE);
        long deadline = System.nanoTime() + plan.rendezvousTimeout().toNanos();
        while (true) {
            try {
                store.check(List.of("gen/0/node/0"));
                return store;
            } catch (StoreException e) {
                if (Status.fromThrowable(e.getCause()).getCode() == Status.Code.UNAUTHENTICATED || System.nanoTime() > deadline) {
                    store.close();
                    throw new LaunchFailedException("cannot reach the rendezvous store at " + plan.masterAddr() + ":"
                            + plan.masterPort() + " within " + plan.rendezvousTimeout().toSeconds() + " s: " + e.getMessage()
                            + "; start node 0's launcher, check --master-addr/--master-port, the firewall and --token-file", e);
                }
            }
            clock.sleep(Duration.ofMillis(500));
        }
    }

    /**
     * Shutdown hook: SIGINT/SIGTERM (or System.exit) while workers run. The stop is recorded in the
     * store first, so the other nodes read it as the cause rather than their workers' broken
     * connections; then this node's workers stop, children included. The JVM exits when the hook
     * returns, so the hook then waits (bounded) for the main thread to record the attempt, let
     * the other nodes read the outcome and write the report.
     */
    private void onStopSignal() {
        WorkerGroup group;
        JobRendezvous rdzv;
        synchronized (lifecycle) {
            if (finished) {
                return;
            }
            signalled = true;
            group = current;
            rdzv = currentRendezvous;
        }
        if (group == null) {
            return;
        }
        say("stop signal received; stopping this node's workers");
        try {
            rdzv.reportFailure(stoppedBySignal());
        } catch (StoreException e) {
            // the store is gone too; the other nodes find out by their own timeouts
        }
        group.stop(plan.gracePeriod());
        long deadline = System.nanoTime() + plan.gracePeriod().plus(AFTER_STOP_SIGNAL).toNanos();
        synchronized (lifecycle) {
            while (!finished && System.nanoTime() < deadline) {
                try {
                    lifecycle.wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private boolean isSignalled() {
        synchronized (lifecycle) {
            return signalled;
        }
    }

    private void stopCurrent() {
        WorkerGroup group;
        synchronized (lifecycle) {
            group = current;
        }
        if (group != null) {
            group.stop(plan.gracePeriod());
            removeSharedMemoryLeftovers();
        }
    }

    /**
     * Workers unlink their shared-memory segments once the peer has mapped them; one killed in
     * between leaves its file, which only this job's token can name. Called once the workers are gone.
     */
    private void removeSharedMemoryLeftovers() {
        int removed = SharedMemoryFiles.removeLeftovers(plan.token());
        if (removed > 0) {
            say("removed " + removed + " shared-memory segment(s) left by stopped workers");
        }
    }

    private void say(String line) {
        console.say(line);
    }
}
