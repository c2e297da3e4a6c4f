package dev.trainyard.runtime.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.util.ArrayList;
import java.util.List;

/** A two-layer MLP on CPU with gradients from one backward: enough parameters for several 4 KiB buckets. */
final class SmallModel {
    private SmallModel() {
    }

    static Model create() {
        Model m = Model.newInstance("copied-buckets", Device.cpu());
        SequentialBlock b = new SequentialBlock()
                .add(Linear.builder().setUnits(64).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(3).build());
        m.setBlock(b);
        b.initialize(m.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, new Shape(4, 20));
        return m;
    }

    static void backward(Model m) {
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray x = m.getNDManager().randomUniform(-1, 1, new Shape(4, 20));
            NDArray out = m.getBlock().forward(new ParameterStore(m.getNDManager(), false), new NDList(x), true).head();
            gc.backward(out.square().sum());
        }
    }

    static List<float[]> gradients(Model m) {
        List<float[]> g = new ArrayList<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            try (NDArray grad = p.getValue().getArray().getGradient()) {
                g.add(grad.toFloatArray());
            }
        }
        return g;
    }
}
