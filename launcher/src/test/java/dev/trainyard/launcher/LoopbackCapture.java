package dev.trainyard.launcher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Everything that crosses the loopback interface while it runs, as tcpdump saw it (root and tcpdump needed). */
final class LoopbackCapture implements AutoCloseable {
    private final Process tcpdump;
    private final Path file;

    private LoopbackCapture(Process tcpdump, Path file) {
        this.tcpdump = tcpdump;
        this.file = file;
    }

    /** Null when a capture can run here, else why not. */
    static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "capturing loopback traffic needs root; running as " + System.getProperty("user.name");
        }
        if (!Files.isExecutable(Path.of("/usr/bin/tcpdump")) && !Files.isExecutable(Path.of("/usr/sbin/tcpdump"))) {
            return "tcpdump is not installed (apt-get install tcpdump)";
        }
        return null;
    }

    /** Starts capturing whole packets into {@code file}; returns once tcpdump listens. */
    static LoopbackCapture start(Path file) throws IOException {
        Process p = new ProcessBuilder("tcpdump", "-i", "lo", "-U", "-s", "0", "-w", file.toString()).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        for (String line; (line = out.readLine()) != null; ) {
            if (line.contains("listening on")) {
                Thread drain = new Thread(() -> {
                    try {
                        while (out.readLine() != null) {
                            // tcpdump's closing statistics
                        }
                    } catch (IOException ignored) {
                        // it exited
                    }
                }, "tcpdump-output");
                drain.setDaemon(true);
                drain.start();
                return new LoopbackCapture(p, file);
            }
        }
        throw new IOException("tcpdump ended before it listened (exit " + p.exitValue() + ")");
    }

    /** Stops the capture (tcpdump flushes on SIGTERM) and returns every byte it wrote. */
    byte[] stop() throws IOException, InterruptedException {
        tcpdump.destroy();
        if (!tcpdump.waitFor(10, TimeUnit.SECONDS)) {
            tcpdump.destroyForcibly();
        }
        return Files.readAllBytes(file);
    }

    static boolean contains(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    @Override
    public void close() {
        tcpdump.destroyForcibly();
    }
}
