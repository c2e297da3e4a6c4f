package dev.trainyard.examples;

import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import java.util.List;
import java.util.Locale;

/**
 * The image models, as {@link SequentialBlock}s (nested ones for the ResNet's stages) so the
 * trainer can cut backward into stages and overlap their all-reduces.
 */
public final class Models {
    private Models() {
    }

    public static SequentialBlock build(String kind) {
        return switch (kind.toLowerCase(Locale.ROOT)) {
            case "mlp" -> mlp();
            case "cnn" -> cnn();
            case "mlp-wide" -> wideMlp();
            case "resnet" -> resnet(16);
            default -> throw new IllegalArgumentException("unknown model '" + kind + "'; choose mlp, mlp-wide, cnn or resnet");
        };
    }

    /** The shape of one input sample with a batch dimension of 1, for {@code Trainer.initialize}. */
    public static Shape inputShape(String kind) {
        return kind.equalsIgnoreCase("cnn") || kind.equalsIgnoreCase("resnet") ? new Shape(1, 1, 28, 28) : new Shape(1, 28 * 28);
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

    /**
     * ResNet-18's layout for 28x28 images: a 3x3 stem, then four stages of two basic residual
     * units (two 3x3 convolutions each) with {@code width}, 2, 4 and 8 times {@code width}
     * channels, the last three halving the resolution (28, 14, 7, 4), then global average pooling
     * and a 10-way linear layer. ImageNet's 7x7 stride-2 stem and max pooling are left out: they
     * would shrink a 28x28 image to 7x7 before the first unit. Width 64 is ResNet-18's (11.2 M
     * parameters); width 16 has 0.70 M and trains an epoch of Fashion-MNIST in minutes on a CPU.
     * Every convolution is followed by batch norm (whose shift makes a convolution bias redundant).
     */
    public static SequentialBlock resnet(int width) {
        SequentialBlock net = new SequentialBlock()
                .add(new SequentialBlock().add(conv(width, 3, 1)).add(BatchNorm.builder().build()).add(Activation::relu));
        for (int stage = 0; stage < 4; stage++) {
            int channels = width << stage;
            SequentialBlock units = new SequentialBlock();
            units.add(residualUnit(channels, stage == 0 ? 1 : 2, stage > 0));
            units.add(residualUnit(channels, 1, false));
            net.add(units);
        }
        return net.add(Pool.globalAvgPool2dBlock()).add(Blocks.batchFlattenBlock()).add(Linear.builder().setUnits(10).build());
    }

    /** {@code relu(main(x) + shortcut(x))}; the shortcut projects with a 1x1 convolution where the shape changes. */
    private static SequentialBlock residualUnit(int channels, int stride, boolean project) {
        SequentialBlock main = new SequentialBlock()
                .add(conv(channels, 3, stride)).add(BatchNorm.builder().build()).add(Activation::relu)
                .add(conv(channels, 3, 1)).add(BatchNorm.builder().build());
        Block shortcut = project
                ? new SequentialBlock().add(conv(channels, 1, stride)).add(BatchNorm.builder().build())
                : Blocks.identityBlock();
        ParallelBlock sum = new ParallelBlock(outputs -> new NDList(outputs.get(0).head().add(outputs.get(1).head())), List.of(main, shortcut));
        return new SequentialBlock().add(sum).add(Activation::relu);
    }

    private static Conv2d conv(int filters, int kernel, int stride) {
        return Conv2d.builder().setFilters(filters).setKernelShape(new Shape(kernel, kernel)).optStride(new Shape(stride, stride))
                .optPadding(new Shape(kernel / 2, kernel / 2)).optBias(false).build();
    }
}
