package dev.trainyard.collectives.host.transport;

import java.nio.ByteBuffer;

/** One queued frame: a region of a buffer plus where it sits in the collective. Pooled by {@link Exchange}. */
public final class SendItem {
    public ByteBuffer src;
    public int offset;
    public int length;
    public int step;
    public int chunkOffset;

    SendItem set(ByteBuffer src, int offset, int length, int step, int chunkOffset) {
        this.src = src;
        this.offset = offset;
        this.length = length;
        this.step = step;
        this.chunkOffset = chunkOffset;
        return this;
    }
}
