package dev.trainyard.examples.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Autograd keeps some inputs of the forward for backward. DJL 0.36 makes the number in
 * {@code array.mul(2.0)} a CPU tensor over a direct buffer that it frees with the next garbage
 * collection after the multiplication; when the block scaled its attention scores that way, a
 * collection between forward and backward let other data take that memory, and backward scaled the
 * gradients by it (found as a 2-worker GPT run drifting from one process in a random step).
 */
class CausalSelfAttentionTest {
    private static final Shape INPUT = new Shape(2, 6, 16);

    @Test
    void aGarbageCollectionBetweenForwardAndBackwardLeavesTheGradientsAlone() throws Exception {
        System.setProperty("ai.djl.offline", "true");
        float[] calm = inputGradient(false);
        float[] collected = inputGradient(true);
        assertArrayEquals(calm, collected, "the input's gradient after a garbage collection between forward and backward");
    }

    /** The input's gradient after one seeded forward and backward; with {@code collect}, a collection and new small buffers in between. */
    private static float[] inputGradient(boolean collect) throws InterruptedException {
        Engine.getInstance().setRandomSeed(7);
        try (NDManager manager = NDManager.newBaseManager()) {
            CausalSelfAttention block = new CausalSelfAttention(16, 2);
            block.initialize(manager, DataType.FLOAT32, INPUT);
            NDArray x = manager.randomNormal(INPUT);
            x.setRequiresGradient(true);
            List<ByteBuffer> squatters = List.of();
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray y = block.forward(new ParameterStore(manager, false), new NDList(x), true).head();
                if (collect) {
                    squatters = collectAndReuseSmallBuffers();
                }
                gc.backward(y.sum());
            }
            Reference.reachabilityFence(squatters);
            return x.getGradient().toFloatArray();
        }
    }

    /**
     * Runs two full collections, each known to be done when a phantom reference it cleared comes out
     * of the queue (the second also means the cleaners queued by the first have run: one thread
     * hands them out in order), then allocates many 4-byte direct buffers holding 1e6: the allocator
     * hands freed chunks of that size out first.
     */
    private static List<ByteBuffer> collectAndReuseSmallBuffers() throws InterruptedException {
        ReferenceQueue<Object> collected = new ReferenceQueue<>();
        for (int cycle = 0; cycle < 2; cycle++) {
            PhantomReference<Object> marker = new PhantomReference<>(new Object(), collected);
            System.gc();
            if (collected.remove(10_000) != marker) {
                throw new IllegalStateException("the garbage collector did not run within 10 s of System.gc() (-XX:+DisableExplicitGC?)");
            }
        }
        List<ByteBuffer> squatters = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            ByteBuffer b = ByteBuffer.allocateDirect(Float.BYTES).order(ByteOrder.nativeOrder());
            b.putFloat(0, 1e6f);
            squatters.add(b);
        }
        return squatters;
    }
}
