package dev.trainyard.launcher.supervise;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Names a worker that stopped running — SIGSTOP, a JVM stuck at a safepoint, a machine swapping it
 * out — within seconds, where otherwise only the peers' collective timeout (minutes) would notice.
 * The worker's launcher-watch thread wakes twice a second whatever training does; each wake-up is
 * a context switch the kernel counts in {@code /proc/PID/task/TID/status}. A count that stays still
 * for the timeout means the whole process stopped: a worker busy in a long step, or blocked in a
 * collective, still wakes that thread. Nothing is written by the worker, and no file is involved (a
 * run directory on NFS would make modification times lie). Linux only; elsewhere it never fires.
 */
public final class WorkerLiveness {
    /** The worker's watch thread as Linux names it: the first 15 characters of "trainyard-launcher-watch". */
    static final String WATCH_THREAD = "trainyard-launc";

    private final Duration timeout;
    private final Map<Long, Beat> beats = new HashMap<>();

    /** The last switch count seen for a worker's watch thread, and since when it has not moved. */
    private record Beat(Path status, long switches, long sinceNanos) {
    }

    /** A worker that did not run for the timeout, and what the kernel says of its state. */
    record Frozen(Worker worker, double seconds, String state) {
    }

    WorkerLiveness(Duration timeout) {
        this.timeout = timeout;
    }

    /** The first live worker whose watch thread has not run for the timeout; empty while all run (or timeout is 0). */
    Optional<Frozen> check(List<Worker> workers) {
        if (timeout.isZero()) {
            return Optional.empty();
        }
        long now = System.nanoTime();
        for (Worker w : workers) {
            long pid = w.process().pid();
            if (!w.process().isAlive()) {
                beats.remove(pid);
                continue;
            }
            Beat beat = beats.get(pid);
            if (beat == null) {
                findWatchThread(pid).ifPresent(status -> switches(status).ifPresent(n -> beats.put(pid, new Beat(status, n, now))));
                continue; // still starting: the thread comes up in the first second of the JVM
            }
            Optional<Long> n = switches(beat.status());
            if (n.isEmpty()) {
                beats.remove(pid); // exited meanwhile
            } else if (n.get() != beat.switches()) {
                beats.put(pid, new Beat(beat.status(), n.get(), now));
            } else if (now - beat.sinceNanos() >= timeout.toNanos()) {
                return Optional.of(new Frozen(w, (now - beat.sinceNanos()) / 1e9, state(pid)));
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> findWatchThread(long pid) {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(WATCH_THREAD);
                } catch (IOException e) {
                    return false;
                }
            }).map(t -> t.resolve("status")).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Voluntary plus involuntary context switches of one thread, or empty once it is gone. */
    private static Optional<Long> switches(Path status) {
        try {
            long n = 0;
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("voluntary_ctxt_switches:") || line.startsWith("nonvoluntary_ctxt_switches:")) {
                    n += Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
                }
            }
            return Optional.of(n);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The process state from /proc/PID/status, e.g. "T (stopped)", for the report. */
    private static String state(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
                    .filter(l -> l.startsWith("State:")).map(l -> l.substring(6).strip()).findFirst().orElse("unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }
}
