package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Final normalization and the scores of every next token: (batch, time, dim) to
 * (batch * time, vocabulary), one row per position, as a softmax cross-entropy loss takes them.
 */
final class LanguageModelHead extends AbstractBlock {
    private final int vocabulary;
    private final LayerNorm norm;
    private final Linear scores;

    LanguageModelHead(int vocabulary) {
        this.vocabulary = vocabulary;
        norm = addChildBlock("norm", DecoderLayer.lastAxisNorm());
        scores = addChildBlock("scores", Linear.builder().setUnits(vocabulary).optBias(false).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray logits = scores.forward(store, norm.forward(store, inputs, training), training).head();
        return new NDList(logits.reshape(-1, vocabulary));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {new Shape(in.get(0) * in.get(1), vocabulary)};
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        norm.initialize(manager, dataType, inputShapes[0]);
        scores.initialize(manager, dataType, inputShapes[0]);
    }
}
