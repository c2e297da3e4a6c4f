package dev.trainyard.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import dev.trainyard.examples.Models;
import dev.trainyard.examples.gpt.Gpt;
import dev.trainyard.examples.gpt.NextTokenLoss;
import java.util.List;

/**
 * The models the training benchmarks run, with their input and random data. PyTorch's peer
 * ({@code ddp_train.py}) builds the same architectures layer for layer.
 * {@code gpt} is the example's default size: byte vocabulary, context 64, 4 layers of width 256,
 * 4 heads (3.31 M parameters); a sample is one window of 64 tokens.
 */
final class BenchModels {
    static final List<String> NAMES = List.of("mlp", "mlp-wide", "cnn", "resnet", "gpt");
    static final int GPT_CONTEXT = 64;

    private BenchModels() {
    }

    static void requireKnown(String model) {
        if (!NAMES.contains(model)) {
            throw new IllegalArgumentException("unknown --model '" + model + "'; choose one of " + String.join(", ", NAMES));
        }
    }

    static Block build(String model) {
        return model.equals("gpt") ? new Gpt(256, GPT_CONTEXT, 256, 4, 4) : Models.build(model);
    }

    /** One sample with a batch dimension of 1, for {@code Trainer.initialize}. */
    static Shape inputShape(String model) {
        return model.equals("gpt") ? new Shape(1, GPT_CONTEXT) : Models.inputShape(model);
    }

    static Loss loss(String model) {
        return model.equals("gpt") ? new NextTokenLoss() : Loss.softmaxCrossEntropyLoss();
    }

    /** {@code samples} random inputs and labels: pixels in [0, 1] and one of 10 classes, or random bytes and their next bytes. */
    static NDArray[] data(NDManager manager, String model, int samples) {
        if (model.equals("gpt")) {
            Shape shape = new Shape(samples, GPT_CONTEXT);
            return new NDArray[] {manager.randomInteger(0, 256, shape, DataType.INT64), manager.randomInteger(0, 256, shape, DataType.INT64)};
        }
        NDArray x = manager.randomUniform(0, 1, new Shape(samples).addAll(inputShape(model).slice(1)));
        NDArray y = manager.randomInteger(0, 10, new Shape(samples), DataType.INT32).toType(DataType.FLOAT32, false);
        return new NDArray[] {x, y};
    }
}
