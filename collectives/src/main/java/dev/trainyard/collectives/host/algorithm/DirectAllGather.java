package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.InboundFrame;
import java.nio.ByteBuffer;

/** Small-message all-gather: every rank sends its block to every other rank directly (one hop). */
public final class DirectAllGather implements Collective {
    private final ByteBuffer input;
    private final ByteBuffer output;

    public DirectAllGather(ByteBuffer input, ByteBuffer output) {
        this.input = input;
        this.output = output;
    }

    @Override
    public void run(Exchange ex) {
        int n = ex.size();
        int r = ex.rank();
        int block = input.limit();
        for (int p = 0; p < n; p++) {
            if (p != r) {
                ex.send(p, input, 0, block, 0, 0);
            }
        }
        output.put(r * block, input, 0, block);
        for (int j = 0; j < n; j++) {
            if (j != r) {
                InboundFrame f = ex.receive(j, 0, 0, block);
                f.copyTo(output, j * block);
                ex.release(f);
            }
        }
        ex.flush();
    }
}
