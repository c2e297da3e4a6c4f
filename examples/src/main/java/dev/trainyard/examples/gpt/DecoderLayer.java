package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * One GPT-2 layer, normalization first: {@code x + attention(norm(x))}, then
 * {@code x + mlp(norm(x))} with a 4x wide GELU MLP. Input and output: (batch, time, dim).
 */
final class DecoderLayer extends AbstractBlock {
    private final LayerNorm attentionNorm;
    private final CausalSelfAttention attention;
    private final LayerNorm mlpNorm;
    private final SequentialBlock mlp;

    DecoderLayer(int dim, int heads) {
        attentionNorm = addChildBlock("attention_norm", lastAxisNorm());
        attention = addChildBlock("attention", new CausalSelfAttention(dim, heads));
        mlpNorm = addChildBlock("mlp_norm", lastAxisNorm());
        mlp = addChildBlock("mlp", new SequentialBlock()
                .add(Linear.builder().setUnits(4L * dim).build()).add(Activation::gelu)
                .add(Linear.builder().setUnits(dim).build()));
    }

    /** Normalizes each position's vector (axis 2 of batch, time, dim). */
    static LayerNorm lastAxisNorm() {
        return LayerNorm.builder().axis(2).build();
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.head();
        NDArray a = attention.forward(store, attentionNorm.forward(store, new NDList(x), training), training).head();
        NDArray h = x.add(a);
        NDArray m = mlp.forward(store, mlpNorm.forward(store, new NDList(h), training), training).head();
        return new NDList(h.add(m));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        attentionNorm.initialize(manager, dataType, inputShapes[0]);
        attention.initialize(manager, dataType, inputShapes[0]);
        mlpNorm.initialize(manager, dataType, inputShapes[0]);
        mlp.initialize(manager, dataType, inputShapes[0]);
    }
}
