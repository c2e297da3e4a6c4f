package dev.trainyard.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.time.Instant;
import java.util.Optional;

/**
 * Makes a worker exit on its own when its launcher is gone, even after {@code kill -9} of the
 * launcher (which no signal handler sees): a daemon thread checks twice a second that the
 * launcher process still exists. PIDs are reused, so the launcher is identified by pid and start
 * time (read when the watch starts: a launcher already gone by then is caught at the first check).
 */
public final class LauncherWatch {
    private static final Logger LOG = LoggerFactory.getLogger(LauncherWatch.class);
    static final long POLL_MILLIS = 500;
    /** Exit status of a worker that outlived its launcher. */
    public static final int ORPHANED_EXIT_CODE = 70;

    private LauncherWatch() {
    }

    /** Starts watching {@code launcherPid}; exits at once if it is already gone. */
    public static void start(long launcherPid) {
        Optional<ProcessHandle> launcher = ProcessHandle.of(launcherPid);
        Optional<Instant> started = launcher.flatMap(h -> h.info().startInstant());
        Thread t = new Thread(() -> {
            while (alive(launcherPid, started)) {
                try {
                    Thread.sleep(POLL_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            LOG.error("launcher (pid {}) is gone; stopping this worker and its children", launcherPid);
            ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
            // halt, not exit: shutdown hooks of a stuck program could keep an orphan alive.
            Runtime.getRuntime().halt(ORPHANED_EXIT_CODE);
        }, "trainyard-launcher-watch");
        t.setDaemon(true);
        t.start();
    }

    private static boolean alive(long pid, Optional<Instant> started) {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        return h.isPresent() && h.get().isAlive()
                && (started.isEmpty() || started.equals(h.get().info().startInstant()));
    }
}
