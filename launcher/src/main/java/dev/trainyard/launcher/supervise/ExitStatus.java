package dev.trainyard.launcher.supervise;

import dev.trainyard.runtime.preflight.Preflight;
import java.util.Map;

/** Words for a process exit status; Java reports death by signal N as 128 + N. */
public final class ExitStatus {
    private static final Map<Integer, String> SIGNALS = Map.of(1, "SIGHUP", 2, "SIGINT", 4, "SIGILL", 6, "SIGABRT",
            7, "SIGBUS", 8, "SIGFPE", 9, "SIGKILL", 11, "SIGSEGV", 13, "SIGPIPE", 15, "SIGTERM");

    private ExitStatus() {
    }

    public static String describe(int code) {
        if (code > 128 && code <= 128 + 64) {
            int sig = code - 128;
            return "exit code " + code + " (killed by signal " + sig + (SIGNALS.containsKey(sig) ? ", " + SIGNALS.get(sig) : "") + ")";
        }
        if (code == Preflight.FAILED) {
            return "exit code " + code + " (preflight failed: see the table and the failing checks above)";
        }
        return "exit code " + code;
    }
}
