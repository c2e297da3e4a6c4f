package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.shm.HostRounds;
import dev.trainyard.collectives.host.transport.shm.HostSegment;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/**
 * All-reduce for a group whose ranks all share one host, through one {@link HostSegment}: each
 * rank copies its buffer into its slot and arrives; once all have arrived, whichever ranks are
 * running claim slices of the result and reduce them (in rank order, so every rank gets
 * bit-identical numbers); the rank that finishes the last slice marks the round done and wakes
 * the sleepers; each rank copies the result back. A buffer larger than a slot takes several rounds.
 *
 * <p>Why not the ring: a ring of n ranks is 2(n-1) dependent hops, and with more ranks than cores
 * each hop can wait for the scheduler to run the next rank. Here a rank that is not running
 * delays only its own arrival; the reduction is done by whoever is on a core, and a waiting rank
 * sleeps once per round.
 */
public final class HostAllReduce implements Collective {
    /** Unit of work sharing: small enough that two running ranks split a 1 MiB round evenly. */
    static final int SLICE_BYTES = 64 << 10;

    private final HostRounds rounds;
    private final ByteBuffer buf;
    private final DataType type;
    private final ReduceOp op;

    public HostAllReduce(HostRounds rounds, ByteBuffer buf, DataType type, ReduceOp op) {
        this.rounds = rounds;
        this.buf = buf;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        HostSegment seg = rounds.segment();
        int n = ex.size();
        int rank = ex.rank();
        int total = buf.limit();
        int roundBytes = seg.capacity() / type.bytes() * type.bytes();
        int sliceBytes = SLICE_BYTES / type.bytes() * type.bytes();
        ByteBuffer shared = seg.buffer();
        int at = 0;
        do {
            int bytes = Math.min(roundBytes, total - at);
            long round = rounds.nextRound();
            int slices = Math.max(1, (bytes + sliceBytes - 1) / sliceBytes);
            long firstSlice = rounds.claimSlices(slices);
            rounds.requireUsable(ex);
            shared.put(seg.slot(rank), buf, at, bytes);
            seg.arrive(rank, round, ex.fingerprint());
            rounds.awaitArrivals(ex, round);
            for (int s; (s = seg.claim(firstSlice, slices)) >= 0; ) {
                int from = s * sliceBytes;
                reduceSlice(seg, n, from, Math.min(sliceBytes, bytes - from));
                if (seg.finishSlice(firstSlice + slices)) {
                    seg.roundDone(round);
                    rounds.wakeSleepers();
                }
            }
            rounds.awaitDone(ex, round);
            buf.put(at, shared, seg.result(), bytes);
            at += bytes;
        } while (at < total);
    }

    /** {@code result[from, from+bytes) = slot0 op slot1 op ... op slot(n-1)}, divided by n for AVG. */
    private void reduceSlice(HostSegment seg, int n, int from, int bytes) {
        ByteBuffer shared = seg.buffer();
        int dst = seg.result() + from;
        int count = bytes / type.bytes();
        shared.put(dst, shared, seg.slot(0) + from, bytes);
        for (int r = 1; r < n; r++) {
            Reductions.reduce(type, op, shared, dst, shared, seg.slot(r) + from, count);
        }
        if (op == ReduceOp.AVG) {
            Reductions.divide(type, shared, dst, count, n);
        }
    }
}
