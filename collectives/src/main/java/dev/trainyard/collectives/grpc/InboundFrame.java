package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.Fingerprint;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** A received frame: decoded header plus its payload copied into a pooled direct buffer. */
final class InboundFrame implements Frame {
    final byte[] header = new byte[FrameHeader.BYTES];
    final ByteBuffer payload;
    /** The link it arrived on; releasing the frame grants that peer one more frame. */
    PeerLink origin;

    InboundFrame(int capacity) {
        this.payload = ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
    }

    int length() {
        return FrameHeader.length(header);
    }

    int step() {
        return FrameHeader.step(header);
    }

    int chunkOffset() {
        return FrameHeader.chunkOffset(header);
    }

    boolean belongsTo(Fingerprint fp) {
        return FrameHeader.sameFingerprint(header, fp);
    }

    Fingerprint fingerprint() {
        return FrameHeader.fingerprint(header);
    }
}
