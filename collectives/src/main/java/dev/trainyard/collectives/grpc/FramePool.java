package dev.trainyard.collectives.grpc;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Recycles receive frames so the steady state allocates no frame objects. Frames in use are
 * bounded by the receive window per peer (manual flow control), so the pool stops growing after
 * warm-up.
 */
final class FramePool {
    private final int maxPayload;
    private final ArrayBlockingQueue<InboundFrame> free;

    FramePool(int maxPayload, int maxPooled) {
        this.maxPayload = maxPayload;
        this.free = new ArrayBlockingQueue<>(maxPooled);
    }

    int maxPayload() {
        return maxPayload;
    }

    InboundFrame take() {
        InboundFrame f = free.poll();
        return f != null ? f : new InboundFrame();
    }

    void give(InboundFrame f) {
        f.clear();
        free.offer(f); // beyond maxPooled the frame is left to the GC
    }
}
