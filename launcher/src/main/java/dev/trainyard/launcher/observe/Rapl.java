package dev.trainyard.launcher.observe;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.ArrayList;

/**
 * CPU package energy from Linux's RAPL counters ({@code /sys/class/powercap/intel-rapl:N/energy_uj},
 * also on AMD): a reading at the start and end of an attempt gives its joules. Counters wrap at
 * {@code max_energy_range_uj}; one wrap per attempt is accounted for.
 */
public final class Rapl {
    private static final Path ROOT = Path.of("/sys/class/powercap");

    /** Microjoules per package, or null with {@code why[0]} saying why there are none. */
    public static long[][] read(String[] why) {
        if (!Files.isDirectory(ROOT)) {
            why[0] = "no RAPL counters: " + ROOT + " does not exist (not exposed on this machine or VM)";
            return null;
        }
        List<long[]> packages = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(ROOT, "intel-rapl:[0-9]*")) {
            for (Path d : dirs) {
                if (d.getFileName().toString().matches("intel-rapl:\\d+")) {
                    packages.add(new long[] {value(d.resolve("energy_uj")), value(d.resolve("max_energy_range_uj"))});
                }
            }
        } catch (IOException | NumberFormatException e) {
            why[0] = "RAPL counters under " + ROOT + " cannot be read (" + e.getMessage() + "; they are root-only on recent kernels)";
            return null;
        }
        if (packages.isEmpty()) {
            why[0] = "no RAPL package counters under " + ROOT;
            return null;
        }
        return packages.toArray(long[][]::new);
    }

    /** Joules between two readings of the same packages. */
    public static double joules(long[][] before, long[][] after) {
        double uj = 0;
        for (int i = 0; i < before.length; i++) {
            long d = after[i][0] - before[i][0];
            uj += d >= 0 ? d : d + after[i][1];
        }
        return uj / 1e6;
    }

    private static long value(Path f) throws IOException {
        return Long.parseLong(Files.readString(f).strip());
    }
}
