package dev.trainyard.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The embedding example trains in this JVM as a world of 1, through DJL's own EasyTrain.fit. */
class EmbeddedTrainingTest {
    @Test
    void trainsInProcessWithEasyTrain() throws Exception {
        System.setProperty("ai.djl.offline", "true");
        FashionMnistData train = FashionMnistData.synthetic(3000, 1);
        FashionMnistData test = FashionMnistData.synthetic(1000, 2);
        try (ProcessGroup group = Trainyard.init(Map.of())) {
            float accuracy = EmbeddedTraining.train(group, train, test, 1);
            // 10 classes: chance is 0.1; the synthetic classes are separable, so one epoch learns them
            assertTrue(accuracy > 0.8, "accuracy " + accuracy);
        }
    }

    /**
     * A gzipped set is decompressed into the cache once: the cached bytes are the archive's, a
     * second start finds the file instead of writing it again, and no temp file stays.
     */
    @Test
    void decompressesIntoTheCacheOnce(@TempDir Path cache) throws Exception {
        Path gz = FashionMnistData.DEBIAN_DIR.resolve("t10k-images-idx3-ubyte.gz");
        if (!Files.isReadable(gz)) {
            System.out.println("SKIPPED decompressesIntoTheCacheOnce: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "Fashion-MNIST is not installed");
        }
        Path cached = FashionMnistData.decompressed(gz, cache);
        byte[] expected;
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(gz))) {
            expected = in.readAllBytes();
        }
        assertArrayEquals(expected, Files.readAllBytes(cached));
        FileTime marked = FileTime.fromMillis(1_000_000L); // a file written again would carry the current time
        Files.setLastModifiedTime(cached, marked);
        assertEquals(cached, FashionMnistData.decompressed(gz, cache));
        assertEquals(marked, Files.getLastModifiedTime(cached), "found, not written again");
        try (var files = Files.list(cache)) {
            assertEquals(List.of(cached), files.toList());
        }
    }

    @Test
    void readsIdxFilesLikeTheRealSet() throws Exception {
        if (!FashionMnistData.present(FashionMnistData.DEBIAN_DIR)) {
            System.out.println("SKIPPED readsIdxFilesLikeTheRealSet: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "Fashion-MNIST is not installed");
        }
        FashionMnistData test = FashionMnistData.load(FashionMnistData.DEBIAN_DIR, false, Integer.MAX_VALUE);
        assertTrue(test.count() == 10000 && test.pixels().remaining() == 10000 * 784, "t10k holds 10000 images of 28x28");
        int[] perClass = new int[10];
        for (int l : test.labels()) {
            perClass[l]++;
        }
        for (int c = 0; c < 10; c++) {
            assertTrue(perClass[c] == 1000, "class " + c + " has " + perClass[c] + " test images, expected 1000");
        }
    }
}
