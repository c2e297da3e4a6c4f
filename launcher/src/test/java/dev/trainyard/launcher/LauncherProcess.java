package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A real {@code trainyard launch} process for tests: its merged output, the pids its workers report, and cleanup. */
final class LauncherProcess implements AutoCloseable {
    private static final Pattern PID = Pattern.compile("(?:ready rank \\d+ pid|child pid|\\(pid) (\\d+)");
    /** The user cache of every launch the tests start, unless a test gives its own. */
    private static final Path TEST_CACHE = testCache();

    private static Path testCache() {
        try {
            Path dir = Files.createTempDirectory("trainyard-test-cache-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try (var files = Files.walk(dir)) {
                    files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                } catch (IOException ignored) {
                    // a temp directory the system cleans
                }
            }));
            return dir;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private final Process process;
    private final List<String> lines = new ArrayList<>();
    private final Thread reader;

    private LauncherProcess(Process process) {
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = in.readLine()) != null; ) {
                    synchronized (lines) {
                        lines.add(l);
                        lines.notifyAll();
                    }
                }
            } catch (IOException ignored) {
                // launcher gone
            }
        }, "launcher-output");
        reader.setDaemon(true);
        reader.start();
    }

    static LauncherProcess start(List<String> launchArgs) {
        return start(List.of(), launchArgs, Map.of());
    }

    /** A {@code trainyard COMMAND} other than launch (e.g. preflight), or launch with its preflight on; worker output on the console. */
    static LauncherProcess start(String command, List<String> args) {
        return start(command, args, Map.of());
    }

    /** As above, with more environment (e.g. a user cache of the test's own). */
    static LauncherProcess start(String command, List<String> args, Map<String, String> env) {
        List<String> verbose = new ArrayList<>(List.of("--verbose"));
        verbose.addAll(args);
        return start(List.of(), command, verbose, env);
    }

    /** {@code wrapper} prefixes the java command (e.g. {@code ip netns exec ns}). */
    /** {@code trainyard launch} as users run it by default: worker output only in the logs (no {@code --verbose}). */
    static LauncherProcess startQuiet(List<String> launchArgs) {
        List<String> args = new ArrayList<>(List.of("--no-preflight"));
        args.addAll(launchArgs);
        return start(List.of(), "launch", args, Map.of());
    }

    /**
     * Launch tests skip the preflight (its own test covers it) to keep the suite short, and see the
     * workers' output on the console ({@code --verbose}) to check it.
     */
    static LauncherProcess start(List<String> wrapper, List<String> launchArgs, Map<String, String> env) {
        // test workers train for seconds too: C1 alone compiles what they run at a fraction of C2's CPU
        List<String> args = new ArrayList<>(List.of("--no-preflight", "--verbose", "--jvm-opt", "-XX:TieredStopAtLevel=1"));
        args.addAll(launchArgs);
        return start(wrapper, "launch", args, env);
    }

    private static LauncherProcess start(List<String> wrapper, String command, List<String> args, Map<String, String> env) {
        List<String> cmd = new ArrayList<>(wrapper);
        // the launcher under test supervises for seconds: C1 alone and the serial collector leave the
        // 2 cores to its workers (C2's compiler threads competed with them in every launch)
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), TrainyardCli.class.getName(), command));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("CUDA_VISIBLE_DEVICES");
        pb.environment().remove("OMP_NUM_THREADS"); // the launcher's default is under test, not the machine's setting
        // failed test launches must not make the user's next real launch run the full preflight (HostHistory)
        pb.environment().put("TRAINYARD_CACHE_DIR", TEST_CACHE.toString());
        pb.environment().putAll(env);
        try {
            return new LauncherProcess(pb.start());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Process process() {
        return process;
    }

    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            fail("launcher did not exit within " + timeout + "; output:\n" + output());
        }
        reader.join(5000);
        return process.exitValue();
    }

    /** Waits until {@code count} lines match; fails with the output so far otherwise. */
    void awaitLines(Predicate<String> match, int count, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lines) {
            while (lines.stream().filter(match).count() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("expected " + count + " matching line(s) within " + timeout + "; output:\n" + String.join("\n", lines));
                }
                lines.wait(Math.max(1, left / 1_000_000));
            }
        }
    }

    String output() {
        synchronized (lines) {
            return String.join("\n", lines);
        }
    }

    /** Pids of workers and their children, as the workers printed them. */
    Set<Long> reportedPids() {
        Set<Long> pids = new TreeSet<>();
        synchronized (lines) {
            for (String l : lines) {
                Matcher m = PID.matcher(l);
                while (m.find()) {
                    pids.add(Long.parseLong(m.group(1)));
                }
            }
        }
        return pids;
    }

    long pidOfRank(int rank) {
        Pattern p = Pattern.compile("ready rank " + rank + " pid (\\d+)|rank " + rank + " of \\d+ ready \\(pid (\\d+)");
        synchronized (lines) {
            for (String l : lines) {
                Matcher m = p.matcher(l);
                if (m.find()) {
                    return Long.parseLong(m.group(1) != null ? m.group(1) : m.group(2));
                }
            }
        }
        throw new AssertionError("rank " + rank + " never reported its pid; output:\n" + output());
    }

    /** Asserts that none of {@code pids} is alive once {@code within} has passed. */
    static void assertAllGone(Set<Long> pids, Duration within) throws InterruptedException {
        assertTrue(!pids.isEmpty(), "no pids to check");
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            List<Long> alive = pids.stream().filter(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)).toList();
            if (alive.isEmpty()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("processes still alive after " + within + ": " + alive);
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        reportedPids().forEach(p -> ProcessHandle.of(p).ifPresent(ProcessHandle::destroyForcibly));
    }
}
