package dev.trainyard.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What the Python peers of {@code bench allreduce} share: their script, taken out of the jar into a
 * temp file, the size and count lists they take, and the rows they print
 * ({@code {"bytes": B, "iters": I, "median_s": S}}, the same method as Trainyard's sweep).
 */
final class PythonSweep {
    static final String PYTHON = "/usr/bin/python3";
    private static final Pattern ROW = Pattern.compile("\\{\"bytes\": (\\d+), \"iters\": (\\d+), \"median_s\": ([0-9.eE+-]+)}");

    private PythonSweep() {
    }

    /** The script {@code name} from the jar's {@code python/} folder, in a temp file the caller deletes. */
    static Path script(String name) throws IOException {
        Path script = Files.createTempFile("trainyard-" + name.replace(".py", "") + "-", ".py");
        try (InputStream in = PythonSweep.class.getResourceAsStream("/python/" + name)) {
            if (in == null) {
                Files.deleteIfExists(script);
                throw new IOException(name + " is missing from the benchmarks jar; rebuild with mvn package");
            }
            Files.write(script, in.readAllBytes());
        }
        return script;
    }

    /** Median seconds per size from the peer's output, in the order of the sizes. */
    static double[] medians(List<String> output, int sizes, String peer) throws IOException {
        double[] medians = new double[sizes];
        Matcher m = ROW.matcher(String.join("\n", output));
        int i = 0;
        while (m.find() && i < sizes) {
            medians[i++] = Double.parseDouble(m.group(3));
        }
        if (i != sizes) {
            throw new IOException("unexpected output of the " + peer + " sweep: " + output);
        }
        return medians;
    }

    static String join(long[] v) {
        return Arrays.stream(v).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    static String join(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }
}
