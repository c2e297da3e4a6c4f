package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import java.nio.ByteBuffer;

/** Small-message reduce-scatter: block j goes straight to rank j, which reduces in rank order. */
public final class DirectReduceScatter implements Collective {
    private final ByteBuffer input;
    private final ByteBuffer output;
    private final DataType type;
    private final ReduceOp op;

    public DirectReduceScatter(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        this.input = input;
        this.output = output;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        int block = output.limit();
        for (int p = 0; p < ex.size(); p++) {
            if (p != ex.rank()) {
                ex.send(p, input, p * block, block, 0, 0);
            }
        }
        DirectAllReduce.reduceInRankOrder(ex, output, input, ex.rank() * block, block, type, op);
        ex.flush();
    }
}
