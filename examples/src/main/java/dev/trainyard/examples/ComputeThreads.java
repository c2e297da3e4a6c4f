package dev.trainyard.examples;

import dev.trainyard.runtime.ProcessGroup;

/** How many cores each worker's PyTorch may use: its share of the node unless told. */
final class ComputeThreads {
    private ComputeThreads() {
    }

    /**
     * Must run before the engine loads. Workers sharing a node each take cores / workers intra-op
     * threads (libtorch would take every core in every worker, and they would fight for them),
     * and one inter-op thread.
     */
    static void configure(ProcessGroup pg, Integer threads) {
        int perNode = Math.max(1, pg.context().localWorldSize());
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(
                threads != null ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / perNode)));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    }
}
