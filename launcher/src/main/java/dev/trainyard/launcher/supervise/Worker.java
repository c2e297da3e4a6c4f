package dev.trainyard.launcher.supervise;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import dev.trainyard.runtime.JsonLinesFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One worker JVM. A pump thread copies its merged stdout/stderr line by line to
 * {@code rank-N.log} and to the console as {@code [rank N] ...}, keeping the last lines for the
 * failure report.
 */
public final class Worker {
    static final int TAIL_LINES = 20;

    private final int rank;
    private final Process process;
    private final Path log;
    private final long startNanos = System.nanoTime();
    private final ArrayDeque<String> tail = new ArrayDeque<>();
    private final Thread pump;

    private Worker(int rank, Process process, Path log, Consumer<String> console) throws IOException {
        this.rank = rank;
        this.process = process;
        this.log = log;
        JsonLinesFile out = JsonLinesFile.append(log, "rank " + rank + " log");
        this.pump = new Thread(() -> pump(out, console), "trainyard-log-rank-" + rank);
        pump.setDaemon(true);
        pump.start();
    }

    static Worker start(int rank, List<String> command, Map<String, String> env, Path log, String banner,
                        Consumer<String> console) {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        try {
            Files.writeString(log, banner + System.lineSeparator(), StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            return new Worker(rank, pb.start(), log, console);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start rank " + rank + " (" + command.get(0) + "): " + e.getMessage(), e);
        }
    }

    /**
     * Copies the worker's output to its log, the console and the tail, until the worker closes it.
     * The copy never stops early: a worker whose output nobody reads blocks once the pipe is full,
     * so a log that cannot be written (a full disk) is given up with one warning ({@link JsonLinesFile})
     * and the rest still flows to the console and the tail.
     */
    private void pump(JsonLinesFile out, Consumer<String> console) {
        String prefix = "[rank " + rank + "] ";
        try (out; BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                out.write(line, true); // flushed: the log must hold the last line even if the launcher is killed next
                console.accept(prefix + line);
                synchronized (tail) {
                    if (tail.size() == TAIL_LINES) {
                        tail.removeFirst();
                    }
                    tail.addLast(line);
                }
            }
        } catch (IOException e) {
            // the worker closed its output (it exited); nothing more to copy
        }
    }

    int rank() {
        return rank;
    }

    Process process() {
        return process;
    }

    Path log() {
        return log;
    }

    double secondsSinceStart() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** The last lines of output so far, without waiting (the worker may still be running). */
    List<String> tailNow() {
        synchronized (tail) {
            return new ArrayList<>(tail);
        }
    }

    /** The last lines of output, after waiting briefly for the pump to drain what the worker wrote before exiting. */
    List<String> tail() {
        try {
            pump.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (tail) {
            return new ArrayList<>(tail);
        }
    }
}
