package dev.trainyard.collectives.grpc;

import java.nio.ByteBuffer;

/**
 * Pipelined chain broadcast along the ring starting at the root: each rank stores a chunk and
 * forwards it at once. The last rank closes the ring with an empty acknowledgement to the root,
 * so every rank receives from its left neighbour: that is what lets a disagreement about the
 * root (or anything else in the fingerprint) be detected instead of silently diverging.
 */
final class ChainBroadcast implements Collective {
    private final ByteBuffer buf;
    private final int root;

    ChainBroadcast(ByteBuffer buf, int root) {
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
        if (position == 0) {
            for (int c = 0; c < whole.chunks(0); c++) {
                ex.send(right, buf, whole.chunkOffset(c), whole.chunkLength(0, c), 0, whole.chunkOffset(c));
            }
            ex.release(ex.receive(left, 1, 0, 0));
        } else {
            for (int c = 0; c < whole.chunks(0); c++) {
                int off = whole.chunkOffset(c);
                int len = whole.chunkLength(0, c);
                InboundFrame f = ex.receive(left, 0, off, len);
                buf.put(off, f.payload, 0, len);
                if (position < n - 1) {
                    ex.forward(right, f, 0, off);
                } else {
                    ex.release(f);
                }
            }
            if (position == n - 1) {
                ex.send(right, buf, 0, 0, 1, 0);
            }
        }
        ex.flush();
    }
}
