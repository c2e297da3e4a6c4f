package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.InboundFrame;
import java.nio.ByteBuffer;

/**
 * Pipelined chain broadcast along the ring starting at the root: each rank stores a chunk and
 * forwards it at once. A chain alone would let a rank finish having compared fingerprints only
 * with ranks before it, so the broadcast ends with an empty all-to-all agreement round (one hop):
 * every rank then has checked every other rank's fingerprint, and a disagreement (say, about
 * the root) fails on every rank instead of silently diverging.
 */
public final class ChainBroadcast implements Collective {
    private static final int AGREEMENT_STEP = 1;
    private final ByteBuffer buf;
    private final int root;

    public ChainBroadcast(ByteBuffer buf, int root) {
        this.buf = buf;
        this.root = root;
    }

    @Override
    public void run(Exchange ex) {
        int n = ex.size();
        if (n == 1) {
            return;
        }
        int r = ex.rank();
        int position = Math.floorMod(r - root, n);
        int right = (r + 1) % n;
        int left = (r + n - 1) % n;
        Segments whole = Segments.blocks(1, buf.limit(), 1, ex.chunkBytes());
        for (int c = 0; c < whole.chunks(0); c++) {
            int off = whole.chunkOffset(c);
            int len = whole.chunkLength(0, c);
            if (position == 0) {
                ex.send(right, buf, off, len, 0, off);
                continue;
            }
            InboundFrame f = ex.receive(left, 0, off, len);
            f.copyTo(buf, off);
            ex.release(f);
            if (position < n - 1) {
                ex.send(right, buf, off, len, 0, off);
            }
        }
        Agreement.run(ex, AGREEMENT_STEP);
    }
}
