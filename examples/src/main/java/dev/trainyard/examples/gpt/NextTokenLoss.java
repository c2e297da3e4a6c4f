package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;

/**
 * Mean cross-entropy of every next token: labels (batch, time) against the model's
 * (batch * time, vocabulary) scores. Its value is the log of the perplexity.
 */
public final class NextTokenLoss extends Loss {
    private final Loss crossEntropy = Loss.softmaxCrossEntropyLoss("NextTokenCrossEntropy");

    public NextTokenLoss() {
        super("NextTokenLoss");
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        return crossEntropy.evaluate(new NDList(labels.singletonOrThrow().reshape(-1)), predictions);
    }
}
