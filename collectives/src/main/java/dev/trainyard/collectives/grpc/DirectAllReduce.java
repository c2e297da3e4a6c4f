package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/**
 * Small-message all-reduce: every rank sends its whole buffer to
 * every other rank in one frame and reduces locally. One hop of latency instead of the ring's
 * 2(n-1). Contributions are combined in rank order, so all ranks compute bit-identical results.
 */
final class DirectAllReduce implements Collective {
    private final ByteBuffer buf;
    private final DataType type;
    private final ReduceOp op;

    DirectAllReduce(ByteBuffer buf, DataType type, ReduceOp op) {
        this.buf = buf;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        int n = ex.size();
        int r = ex.rank();
        int bytes = buf.limit();
        ByteBuffer own = ex.scratch(bytes);
        own.put(0, buf, 0, bytes); // our contribution, kept intact while buf accumulates
        for (int p = 0; p < n; p++) {
            if (p != r) {
                ex.send(p, own, 0, bytes, 0, 0);
            }
        }
        for (int j = 0; j < n; j++) {
            if (j == r) {
                if (j > 0) {
                    Reductions.reduce(type, op, buf, 0, own, 0, bytes / type.bytes());
                } // j == 0: buf already holds our own contribution
                continue;
            }
            InboundFrame f = ex.receive(j, 0, 0, bytes);
            if (j == 0) {
                f.copyTo(buf, 0);
            } else {
                f.reduceInto(type, op, buf, 0);
            }
            ex.release(f);
        }
        if (op == ReduceOp.AVG) {
            Reductions.divide(type, buf, 0, bytes / type.bytes(), n);
        }
        ex.flush();
    }
}
