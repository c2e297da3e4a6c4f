package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.InboundFrame;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/**
 * Chunked, pipelined ring over a buffer split into one segment per rank, in place.
 * Steps {@code 0 .. n-2} are the reduce-scatter (after them rank r holds the reduction of
 * segment r), steps {@code n-1 .. 2n-3} the all-gather. All-reduce runs all of them,
 * reduce-scatter the first half, all-gather the second.
 *
 * <p>The ring is all ranks or a subgroup ({@link Ring}); below, r is this rank's index in it and n
 * its size. At step k rank r sends segment (r-k-1) mod n to its right neighbour and receives segment
 * (r-k-2) mod n from its left; the segment received at step k is the one sent at step k+1, so
 * each chunk is forwarded the moment it is reduced: sending, receiving and reducing overlap
 * chunk by chunk instead of step by step. Every rank ends with bit-identical results because
 * each final segment is computed once and then copied around the ring.
 */
public final class RingPass {
    private RingPass() {
    }

    /** Over all ranks of the exchange. */
    public static void run(Exchange ex, ByteBuffer buf, Segments segs, DataType type, ReduceOp op, int firstStep, int endStep) {
        run(ex, Ring.all(ex.rank(), ex.size()), buf, segs, type, op, firstStep, endStep);
    }

    /** Over {@code ring}; {@code segs} has one segment per member. AVG divides by the ring's size. */
    public static void run(Exchange ex, Ring ring, ByteBuffer buf, Segments segs, DataType type, ReduceOp op, int firstStep, int endStep) {
        int n = ring.size();
        int r = ring.index();
        if (n == 1 || firstStep >= endStep) {
            return;
        }
        int right = ring.right();
        int left = ring.left();
        int first = Math.floorMod(r - firstStep - 1, n);
        for (int c = 0; c < segs.chunks(first); c++) {
            ex.send(right, buf, segs.start(first) + segs.chunkOffset(c), segs.chunkLength(first, c), firstStep, segs.chunkOffset(c));
        }
        for (int k = firstStep; k < endStep; k++) {
            int seg = Math.floorMod(r - k - 2, n);
            boolean reducing = k < n - 1;
            boolean finalReduction = k == n - 2;
            for (int c = 0; c < segs.chunks(seg); c++) {
                int off = segs.chunkOffset(c);
                int len = segs.chunkLength(seg, c);
                int at = segs.start(seg) + off;
                InboundFrame f = ex.receive(left, k, off, len);
                if (reducing) {
                    f.reduceInto(type, op, buf, at);
                    if (finalReduction && op == ReduceOp.AVG) {
                        Reductions.divide(type, buf, at, len / type.bytes(), n);
                    }
                } else {
                    f.copyTo(buf, at);
                }
                ex.release(f);
                if (k + 1 < endStep) {
                    ex.send(right, buf, at, len, k + 1, off);
                }
            }
        }
        ex.flush();
    }
}
