package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.trainyard.runtime.train.StagedBlock;
import java.util.ArrayList;
import java.util.List;

/**
 * A GPT-style decoder-only language model: embeddings, {@code layers} pre-norm decoder layers with
 * causal self-attention, and a head that scores every next token. Input: token ids (batch, time),
 * time at most {@code context}; output: (batch * time, vocabulary).
 *
 * <p>It is a block of its own, not a {@code SequentialBlock}, and declares its stages through
 * {@link StagedBlock} — embeddings, each layer, head — so the data-parallel trainer can send a
 * layer's gradients while the layers below it still run backward.
 */
public final class Gpt extends AbstractBlock implements StagedBlock {
    private final List<Block> stages = new ArrayList<>();

    public Gpt(int vocabulary, int context, int dim, int layers, int heads) {
        stages.add(addChildBlock("embeddings", new Embeddings(vocabulary, context, dim)));
        for (int i = 0; i < layers; i++) {
            stages.add(addChildBlock("layer_" + i, new DecoderLayer(dim, heads)));
        }
        stages.add(addChildBlock("head", new LanguageModelHead(vocabulary)));
    }

    @Override
    public List<Block> stages() {
        return stages;
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = inputs;
        for (Block stage : stages) {
            x = stage.forward(store, x, training);
        }
        return x;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block stage : stages) {
            shapes = stage.getOutputShapes(shapes);
        }
        return shapes;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        Shape[] shapes = inputShapes;
        for (Block stage : stages) {
            stage.initialize(manager, dataType, shapes);
            shapes = stage.getOutputShapes(shapes);
        }
    }
}
