package dev.trainyard.runtime.train;

import dev.trainyard.runtime.RunEvents;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's peak resident set size ({@code VmHWM} in /proc/self/status: the high-water mark
 * of physical memory, native tensors included, which the JVM's own counters miss), reported as a
 * run event whenever it grew by a MiB or more since the last report.
 */
public final class PeakMemory {
    private static final Path STATUS = Path.of("/proc/self/status");
    private long reported;

    /** Peak RSS in bytes, or -1 where /proc is not there. */
    public static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Emits {@code peak_rss_bytes} if it grew; cheap enough for every metrics flush (a few times a second). */
    void report() {
        long now = peakRssBytes();
        if (now >= reported + (1 << 20)) {
            reported = now;
            RunEvents.metric("peak_rss_bytes", now);
        }
    }
}
