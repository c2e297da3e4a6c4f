package dev.trainyard.collectives.grpc;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Recycles receive frames so the steady state allocates nothing. Frames in use are bounded by
 * the receive window per peer (manual flow control), so the pool stops growing after warm-up.
 */
final class FramePool {
    private final int capacity;
    private final ArrayBlockingQueue<InboundFrame> free;

    FramePool(int frameCapacity, int maxPooled) {
        this.capacity = frameCapacity;
        this.free = new ArrayBlockingQueue<>(maxPooled);
    }

    int frameCapacity() {
        return capacity;
    }

    InboundFrame take() {
        InboundFrame f = free.poll();
        return f != null ? f : new InboundFrame(capacity);
    }

    void give(InboundFrame f) {
        f.origin = null;
        free.offer(f); // beyond maxPooled the frame is left to the GC
    }
}
