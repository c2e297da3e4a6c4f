package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head self-attention in which position t attends to positions 0..t only, so a model can
 * be trained to predict every next token of a sequence in one pass. Input and output: (batch,
 * time, dim).
 */
final class CausalSelfAttention extends AbstractBlock {
    private final int dim;
    private final int heads;
    private final Linear qkv;
    private final Linear projection;
    /**
     * 1/sqrt(head width) as a tensor the block owns. Not {@code scores.mul(double)}: DJL 0.36 turns
     * the number into a CPU tensor over a direct buffer it closes right after the multiplication,
     * while autograd keeps that tensor to scale the gradient in backward; once the garbage collector
     * frees the buffer, backward reads whatever reuses the memory (seen as one rank's early-layer
     * gradients going wrong in a random step).
     */
    private NDArray scale;

    CausalSelfAttention(int dim, int heads) {
        if (dim % heads != 0) {
            throw new IllegalArgumentException("the model width " + dim + " is not a multiple of the " + heads + " attention heads");
        }
        this.dim = dim;
        this.heads = heads;
        this.qkv = addChildBlock("qkv", Linear.builder().setUnits(3L * dim).build());
        this.projection = addChildBlock("projection", Linear.builder().setUnits(dim).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.head();
        long batch = x.getShape().get(0);
        long time = x.getShape().get(1);
        long headDim = dim / heads;
        NDList qkvParts = qkv.forward(store, inputs, training).head().split(3, 2);
        // (batch, time, dim) -> (batch, heads, time, headDim)
        NDArray q = qkvParts.get(0).reshape(batch, time, heads, headDim).transpose(0, 2, 1, 3);
        NDArray k = qkvParts.get(1).reshape(batch, time, heads, headDim).transpose(0, 2, 1, 3);
        NDArray v = qkvParts.get(2).reshape(batch, time, heads, headDim).transpose(0, 2, 1, 3);
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale);
        NDArray attention = scores.add(futureMask(x.getManager(), time)).softmax(-1);
        NDArray mixed = attention.matMul(v).transpose(0, 2, 1, 3).reshape(batch, time, dim);
        return projection.forward(store, new NDList(mixed), training);
    }

    /** (time, time): 0 where a position may look (at itself and earlier ones), a large negative number after it. */
    private static NDArray futureMask(NDManager manager, long time) {
        NDArray row = manager.arange((int) time).reshape(time, 1);
        NDArray column = manager.arange((int) time).reshape(1, time);
        return column.gt(row).toType(DataType.FLOAT32, false).mul(-1e9f);
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        qkv.initialize(manager, dataType, inputShapes[0]);
        projection.initialize(manager, dataType, inputShapes[0]);
        if (scale != null) {
            scale.close();
        }
        NDArray value = manager.create((float) (1 / Math.sqrt((double) dim / heads)));
        scale = dataType == DataType.FLOAT32 ? value : value.toType(dataType, true);
    }
}
