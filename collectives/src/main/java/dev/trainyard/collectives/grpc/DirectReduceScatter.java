package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/** Small-message reduce-scatter: block j goes straight to rank j, which reduces in rank order. */
final class DirectReduceScatter implements Collective {
    private final ByteBuffer input;
    private final ByteBuffer output;
    private final DataType type;
    private final ReduceOp op;

    DirectReduceScatter(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        this.input = input;
        this.output = output;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        int n = ex.size();
        int r = ex.rank();
        int block = output.limit();
        for (int p = 0; p < n; p++) {
            if (p != r) {
                ex.send(p, input, p * block, block, 0, 0);
            }
        }
        for (int j = 0; j < n; j++) {
            if (j == r) {
                if (j == 0) {
                    output.put(0, input, r * block, block);
                } else {
                    Reductions.reduce(type, op, output, 0, input, r * block, block / type.bytes());
                }
                continue;
            }
            InboundFrame f = ex.receive(j, 0, 0, block);
            if (j == 0) {
                f.copyTo(output, 0);
            } else {
                f.reduceInto(type, op, output, 0);
            }
            ex.release(f);
        }
        if (op == ReduceOp.AVG) {
            Reductions.divide(type, output, 0, block / type.bytes(), n);
        }
        ex.flush();
    }
}
