package dev.trainyard.launcher.supervise;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Stops workers together with everything they started. Each worker runs in its own session
 * ({@code setsid}), so a signal to its process group also reaches children that were orphaned
 * when the worker died first, which a walk of the live process tree can no longer find.
 */
public final class ProcessTree {
    private static final Path SETSID = Path.of("/usr/bin/setsid");
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    private ProcessTree() {
    }

    /** Prefix of a worker's command line that gives it its own session and process group. */
    static List<String> sessionLeaderPrefix() {
        // -w: wait for the command, in case setsid had to fork (it then reports the command's status)
        return Files.isExecutable(SETSID) ? List.of(SETSID.toString(), "-w") : List.of();
    }

    /** SIGTERM to every root's group and tree, then SIGKILL to whatever is left after {@code grace}. */
    static void stop(List<ProcessHandle> roots, Duration grace) {
        Set<ProcessHandle> all = snapshot(roots);
        for (ProcessHandle root : roots) {
            signalGroup(root.pid(), "TERM");
        }
        all.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : all) {
            awaitExit(h, deadline - System.nanoTime());
        }
        all.addAll(snapshot(roots));
        for (ProcessHandle root : roots) {
            signalGroup(root.pid(), "KILL");
        }
        all.forEach(ProcessHandle::destroyForcibly);
        long killDeadline = System.nanoTime() + KILL_WAIT.toNanos();
        for (ProcessHandle h : all) {
            awaitExit(h, killDeadline - System.nanoTime());
        }
    }

    private static Set<ProcessHandle> snapshot(List<ProcessHandle> roots) {
        Set<ProcessHandle> all = new LinkedHashSet<>();
        for (ProcessHandle root : roots) {
            root.descendants().forEach(all::add);
            all.add(root);
        }
        return all;
    }

    private static void awaitExit(ProcessHandle h, long nanos) {
        try {
            h.onExit().get(Math.max(0, nanos), TimeUnit.NANOSECONDS);
        } catch (Exception e) {
            // still running (the next phase kills it) or already reaped
        }
    }

    /** {@code kill -SIG -- -pgid}: Java can signal single processes only. No-op if the group is gone. */
    private static void signalGroup(long pgid, String signal) {
        if (!Files.isExecutable(SETSID)) {
            return;
        }
        try {
            Process kill = new ProcessBuilder("kill", "-s", signal, "--", "-" + pgid)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(2, TimeUnit.SECONDS);
        } catch (IOException e) {
            // no kill(1): the per-process signals above still apply
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
