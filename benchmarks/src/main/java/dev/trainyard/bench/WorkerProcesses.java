package dev.trainyard.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Starts one process per rank (by default a JVM with this JVM's java and classpath), collects rank 0's stdout lines,
 * and kills every rank if one fails or the deadline passes (a benchmark must not hang either).
 */
final class WorkerProcesses {
    private WorkerProcesses() {
    }

    /** {@code java -cp <this JVM's classpath> mainClass args...} */
    static List<String> java(String mainClass, List<String> args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        return cmd;
    }

    static List<String> run(int n, String mainClass, List<String> args, IntFunction<Map<String, String>> envOfRank,
                            long timeoutSeconds) throws IOException, InterruptedException {
        return run(n, r -> java(mainClass, args), envOfRank, timeoutSeconds);
    }

    /** Starts {@code n} processes (any program), returns rank 0's stdout lines; the others' stdout is discarded. */
    static List<String> run(int n, IntFunction<List<String>> commandOfRank, IntFunction<Map<String, String>> envOfRank,
                            long timeoutSeconds) throws IOException, InterruptedException {
        List<Process> procs = new ArrayList<>();
        List<String> rank0Lines = new ArrayList<>();
        Thread reader = null;
        try {
            for (int r = 0; r < n; r++) {
                List<String> cmd = commandOfRank.apply(r);
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
                pb.environment().putAll(envOfRank.apply(r));
                if (r != 0) {
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
                }
                procs.add(pb.start());
            }
            Process p0 = procs.get(0);
            reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(p0.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        synchronized (rank0Lines) {
                            rank0Lines.add(line);
                        }
                    }
                } catch (IOException ignored) {
                    // process ended
                }
            }, "rank0-stdout");
            reader.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            for (int r = 0; r < n; r++) {
                Process p = procs.get(r);
                long left = deadline - System.nanoTime();
                if (!p.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                    throw new IOException("rank " + r + " did not finish within " + timeoutSeconds + " s");
                }
                if (p.exitValue() != 0) {
                    throw new IOException("rank " + r + " exited with code " + p.exitValue() + " (its error is printed above)");
                }
            }
            reader.join(5000);
            synchronized (rank0Lines) {
                return new ArrayList<>(rank0Lines);
            }
        } finally {
            for (Process p : procs) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }
}
