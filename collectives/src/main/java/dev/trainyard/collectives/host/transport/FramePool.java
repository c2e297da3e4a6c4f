package dev.trainyard.collectives.host.transport;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Recycles receive frames so the steady state allocates no frame objects. Frames in use are
 * bounded by the receive window per peer (manual flow control), so the pool stops growing after
 * warm-up.
 */
public final class FramePool {
    private final int maxPayload;
    private final ArrayBlockingQueue<InboundFrame> free;

    public FramePool(int maxPayload, int maxPooled) {
        this.maxPayload = maxPayload;
        this.free = new ArrayBlockingQueue<>(maxPooled);
    }

    public int maxPayload() {
        return maxPayload;
    }

    public InboundFrame take() {
        InboundFrame f = free.poll();
        return f != null ? f : new InboundFrame();
    }

    public void give(InboundFrame f) {
        f.clear();
        free.offer(f); // beyond maxPooled the frame is left to the GC
    }
}
