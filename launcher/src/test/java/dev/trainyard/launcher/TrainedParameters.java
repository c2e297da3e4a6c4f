package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Parameters a test worker wrote, one float per line, and how far two such sets are apart. */
final class TrainedParameters {
    private TrainedParameters() {
    }

    static float[] read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        float[] v = new float[lines.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = Float.parseFloat(lines.get(i));
        }
        return v;
    }

    /** max |a - b| / max |b|: the error relative to the parameters' scale. */
    static double relativeError(float[] a, float[] ref) {
        assertEquals(ref.length, a.length);
        double diff = 0;
        double scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }
}
