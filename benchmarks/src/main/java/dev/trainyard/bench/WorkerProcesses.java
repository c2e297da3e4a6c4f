package dev.trainyard.bench;

import dev.trainyard.launcher.LogFormat;
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
 * Starts one process per rank (by default a JVM with this JVM's java and classpath), collects their stdout lines,
 * and kills every rank if one fails or the deadline passes (a benchmark must not hang either).
 */
final class WorkerProcesses {
    private WorkerProcesses() {
    }

    /** {@code java -cp <this JVM's classpath> mainClass args...} */
    static List<String> java(String mainClass, List<String> args) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        cmd.addAll(LogFormat.workerJvmOptions(List.of())); // log lines as under the launcher
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        return cmd;
    }

    static List<String> run(int n, String mainClass, List<String> args, IntFunction<Map<String, String>> envOfRank,
                            long timeoutSeconds) throws IOException, InterruptedException {
        return run(n, r -> java(mainClass, args), envOfRank, timeoutSeconds);
    }

    /** Starts {@code n} processes (any program) and returns rank 0's stdout lines. */
    static List<String> run(int n, IntFunction<List<String>> commandOfRank, IntFunction<Map<String, String>> envOfRank,
                            long timeoutSeconds) throws IOException, InterruptedException {
        return runAll(n, commandOfRank, envOfRank, timeoutSeconds).get(0);
    }

    /** Starts {@code n} processes (any program) and returns each one's stdout lines, in rank order. */
    static List<List<String>> runAll(int n, IntFunction<List<String>> commandOfRank, IntFunction<Map<String, String>> envOfRank,
                                     long timeoutSeconds) throws IOException, InterruptedException {
        List<Process> procs = new ArrayList<>();
        List<List<String>> lines = new ArrayList<>();
        List<Thread> readers = new ArrayList<>();
        try {
            for (int r = 0; r < n; r++) {
                List<String> cmd = commandOfRank.apply(r);
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
                pb.environment().putAll(envOfRank.apply(r));
                Process p = pb.start();
                procs.add(p);
                List<String> out = new ArrayList<>();
                lines.add(out);
                Thread reader = new Thread(() -> {
                    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                        for (String line; (line = in.readLine()) != null; ) {
                            synchronized (out) {
                                out.add(line);
                            }
                        }
                    } catch (IOException ignored) {
                        // process ended
                    }
                }, "rank" + r + "-stdout");
                reader.start();
                readers.add(reader);
            }
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
            List<List<String>> result = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                readers.get(r).join(5000);
                synchronized (lines.get(r)) {
                    result.add(new ArrayList<>(lines.get(r)));
                }
            }
            return result;
        } finally {
            for (Process p : procs) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
        }
    }
}
