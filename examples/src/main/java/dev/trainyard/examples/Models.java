package dev.trainyard.examples;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import java.util.Locale;

/** The example models, as top-level {@link SequentialBlock}s so the trainer can overlap by stage. */
public final class Models {
    private Models() {
    }

    public static SequentialBlock build(String kind) {
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "mlp" -> mlp();
            case "cnn" -> cnn();
            case "mlp-wide" -> wideMlp();
            default -> throw new IllegalArgumentException("unknown model '" + kind + "'; choose mlp, mlp-wide or cnn");
        };
    }

    /** The shape of one input sample with a batch dimension of 1, for {@code Trainer.initialize}. */
    public static Shape inputShape(String kind) {
        return kind.equalsIgnoreCase("cnn") ? new Shape(1, 1, 28, 28) : new Shape(1, 28 * 28);
    }

    /** 784-256-128-10 with ReLU. */
    public static SequentialBlock mlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(256).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(128).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(10).build());
    }

    /** 784-4096-4096-10 with ReLU: 20.0 M parameters, for memory and bandwidth at a size where they matter. */
    public static SequentialBlock wideMlp() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(4096).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(4096).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(10).build());
    }

    /** Two 3x3 convolutions (16, 32 filters) with max pooling, then 128-10. */
    public static SequentialBlock cnn() {
        return new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(16).build())
                .add(Activation::relu).add(Pool.maxPool2dBlock(new Shape(2, 2)))
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(32).build())
                .add(Activation::relu).add(Pool.maxPool2dBlock(new Shape(2, 2)))
                .add(Blocks.batchFlattenBlock())
                .add(Linear.builder().setUnits(128).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(10).build());
    }
}
