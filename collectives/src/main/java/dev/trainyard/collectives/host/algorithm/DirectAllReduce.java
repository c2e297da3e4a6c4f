package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.InboundFrame;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/**
 * Small-message all-reduce: every rank sends its whole buffer to every other rank in one frame and
 * reduces locally. One hop of latency instead of the ring's 2(n-1). Contributions are combined in
 * rank order, so all ranks compute bit-identical results.
 */
public final class DirectAllReduce implements Collective {
    private final ByteBuffer buf;
    private final DataType type;
    private final ReduceOp op;

    public DirectAllReduce(ByteBuffer buf, DataType type, ReduceOp op) {
        this.buf = buf;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        int bytes = buf.limit();
        ByteBuffer own = ex.scratch(bytes);
        own.put(0, buf, 0, bytes); // our contribution, kept intact while buf accumulates
        for (int p = 0; p < ex.size(); p++) {
            if (p != ex.rank()) {
                ex.send(p, own, 0, bytes, 0, 0);
            }
        }
        reduceInRankOrder(ex, buf, own, 0, bytes, type, op);
        ex.flush();
    }

    /**
     * {@code dst = x0 op x1 op ... op x(n-1)} (then divided by n for AVG), where this rank's
     * contribution is {@code own[ownOff, ownOff+bytes)} and every other rank's arrives as one step-0 frame.
     */
    static void reduceInRankOrder(Exchange ex, ByteBuffer dst, ByteBuffer own, int ownOff, int bytes, DataType type, ReduceOp op) {
        int n = ex.size();
        int count = bytes / type.bytes();
        for (int j = 0; j < n; j++) {
            if (j == ex.rank()) {
                if (j == 0) {
                    dst.put(0, own, ownOff, bytes);
                } else {
                    Reductions.reduce(type, op, dst, 0, own, ownOff, count);
                }
                continue;
            }
            InboundFrame f = ex.receive(j, 0, 0, bytes);
            if (j == 0) {
                f.copyTo(dst, 0);
            } else {
                f.reduceInto(type, op, dst, 0);
            }
            ex.release(f);
        }
        if (op == ReduceOp.AVG) {
            Reductions.divide(type, dst, 0, count, n);
        }
    }
}
