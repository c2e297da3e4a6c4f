package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.initializer.ConstantInitializer;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint of more than 2 GiB of parameters (four 544 MiB tensors, 2.13 GiB) written and read back in a
 * JVM whose whole heap is 64 MiB: the streams hold one small buffer, not the model. Runs in a
 * child JVM so the heap limit is real; skipped with the reason on machines without the memory or
 * the disk for it.
 */
class LargeCheckpointTest {
    private static final int TENSORS = 4;
    /** 136 M floats: 544 MiB per tensor. */
    private static final int IN = 4096;
    private static final int OUT = 34_816;

    @TempDir
    Path dir;

    @Test
    void roundTripsMoreThanTwoGibInASixtyFourMibHeap() throws Exception {
        long bytes = (long) TENSORS * IN * OUT * Float.BYTES;
        long freeDisk = Files.getFileStore(dir).getUsableSpace();
        long freeMemory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getFreeMemorySize();
        assumeTrue(freeDisk > 3 * bytes, () -> skip("disk", freeDisk, 3 * bytes));
        assumeTrue(freeMemory > 2 * bytes, () -> skip("memory", freeMemory, 2 * bytes));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Child.class.getName(), dir.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(10, TimeUnit.MINUTES));
        System.out.println(out.lines().filter(l -> l.startsWith("large checkpoint")).reduce("", (a, b) -> a + b + "\n"));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("large checkpoint: round trip exact"), out);
    }

    private static String skip(String what, long have, long need) {
        String why = "skipped: a 2.1 GiB checkpoint round trip needs " + (need >> 30) + " GiB of free " + what + ", this machine has " + (have >> 30);
        System.out.println(why);
        return why;
    }

    /** Builds the parameters natively, saves, overwrites them, loads, and compares digests; prints what it saw. */
    public static final class Child {
        public static void main(String[] args) throws IOException {
            Path dir = Path.of(args[0]);
            try (Model m = Model.newInstance("large")) {
                SequentialBlock block = new SequentialBlock();
                for (int i = 0; i < TENSORS; i++) {
                    block.add(Linear.builder().setUnits(i % 2 == 0 ? OUT : IN).optBias(false).build());
                }
                block.setInitializer(new ConstantInitializer(0f), Parameter.Type.WEIGHT);
                block.initialize(m.getNDManager(), DataType.FLOAT32, new Shape(1, IN));
                int k = 0;
                for (Parameter p : block.getParameters().values()) {
                    int seed = ++k;
                    // a pattern that differs per tensor and per position, set natively (no heap copy)
                    ParameterBytes.update(p.getArray(), b -> fill(b, seed));
                }
                long before = ParameterSync.digest(block);
                long total = block.getParameters().values().stream().mapToLong(p -> p.getArray().size() * Float.BYTES).sum();
                long t0 = System.nanoTime();
                Checkpoints cps = new Checkpoints(dir, 1, line -> { });
                Path file = cps.save(new TrainingState(0, 1, 1), block);
                long t1 = System.nanoTime();
                for (Parameter p : block.getParameters().values()) {
                    ParameterBytes.update(p.getArray(), b -> fill(b, 99));
                }
                Optional<TrainingState> state = cps.loadNewest(block);
                long t2 = System.nanoTime();
                long after = ParameterSync.digest(block);
                System.out.printf("large checkpoint: %.2f GiB of parameters, file %.2f GiB, written in %.1f s, verified and read in %.1f s, heap limit %d MiB%n",
                        total / (double) (1L << 30), Files.size(file) / (double) (1L << 30), (t1 - t0) / 1e9, (t2 - t1) / 1e9,
                        Runtime.getRuntime().maxMemory() >> 20);
                if (total <= Integer.MAX_VALUE || state.isEmpty() || before != after) {
                    System.out.println("large checkpoint: MISMATCH (" + state + ", digest " + before + " vs " + after + ")");
                    System.exit(1);
                }
                System.out.println("large checkpoint: round trip exact");
                Files.delete(file);
            }
        }

        private static void fill(ByteBuffer b, int seed) {
            for (int i = 0; i + 4 <= b.limit(); i += 4 * 1024) {
                b.putFloat(i, seed * 1e-3f + i);
            }
            b.putFloat(b.limit() - 4, seed);
        }
    }
}
