package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.NormalInitializer;
import ai.djl.util.PairList;

/** Token ids (batch, time) to vectors (batch, time, dim): a learned vector per token plus one per position. */
final class Embeddings extends AbstractBlock {
    private final int dim;
    private final Parameter tokens;
    private final Parameter positions;

    Embeddings(int vocabulary, int context, int dim) {
        this.dim = dim;
        // GPT-2's initialization: N(0, 0.02)
        tokens = addParameter(Parameter.builder().setName("tokens").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(vocabulary, dim)).optInitializer(new NormalInitializer(0.02f)).build());
        positions = addParameter(Parameter.builder().setName("positions").setType(Parameter.Type.WEIGHT)
                .optShape(new Shape(context, dim)).optInitializer(new NormalInitializer(0.02f)).build());
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray ids = inputs.head();
        long time = ids.getShape().get(1);
        NDArray table = store.getValue(tokens, ids.getDevice(), training);
        NDArray embedded = ids.getNDArrayInternal().embedding(ids, table, SparseFormat.DENSE).head();
        NDArray position = store.getValue(positions, ids.getDevice(), training).get(new NDIndex("0:{}", time));
        return new NDList(embedded.add(position));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0].add(dim)};
    }
}
