package dev.trainyard.collectives.grpc;

import java.nio.ByteBuffer;

/** One queued frame: a region of a buffer plus where it sits in the collective. Pooled by {@link Exchange}. */
final class SendItem {
    ByteBuffer src;
    int offset;
    int length;
    int step;
    int chunkOffset;

    SendItem set(ByteBuffer src, int offset, int length, int step, int chunkOffset) {
        this.src = src;
        this.offset = offset;
        this.length = length;
        this.step = step;
        this.chunkOffset = chunkOffset;
        return this;
    }
}
