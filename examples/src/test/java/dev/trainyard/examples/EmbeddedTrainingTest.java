package dev.trainyard.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import java.util.Map;
import org.junit.jupiter.api.Test;

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

    @Test
    void readsIdxFilesLikeTheRealSet() throws Exception {
        if (!FashionMnistData.present(FashionMnistData.DEBIAN_DIR)) {
            System.out.println("SKIPPED readsIdxFilesLikeTheRealSet: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "Fashion-MNIST is not installed");
        }
        FashionMnistData test = FashionMnistData.load(FashionMnistData.DEBIAN_DIR, false, Integer.MAX_VALUE);
        assertTrue(test.count() == 10000 && test.images().length == 10000 * 784, "t10k holds 10000 images of 28x28");
        int[] perClass = new int[10];
        for (int l : test.labels()) {
            perClass[l]++;
        }
        for (int c = 0; c < 10; c++) {
            assertTrue(perClass[c] == 1000, "class " + c + " has " + perClass[c] + " test images, expected 1000");
        }
    }
}
