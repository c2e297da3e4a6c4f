package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.reduce.Reductions;
import java.nio.ByteBuffer;

/**
 * All-reduce in three ring passes over subgroups: a reduce-scatter among the ranks of each host
 * (shared memory between them), after which local rank i holds its host's reduction of segment
 * i; an all-reduce of that segment among the ranks with local index i, one per host (the
 * network); an all-gather among the ranks of each host. Each host's network link carries the
 * message 2(M-1)/M times (M hosts) where the flat ring carries it 2(N-1)/N times (N ranks), and a
 * call waits on 2(M-1) network hops instead of 2(N-1). AVG sums in every pass and divides once,
 * after the cross-host pass, so each value is computed in one place and then only copied: every
 * rank ends bit-identical.
 */
public final class HierarchicalAllReduce implements Collective {
    /** This rank's two subgroups, derived once from the host groups at connect, not per call. */
    public record Rings(Ring inside, Ring across) {
        public static Rings of(HostGroups groups) {
            return new Rings(groups.inside(), groups.across());
        }
    }

    private final Rings rings;
    private final ByteBuffer buf;
    private final DataType type;
    private final ReduceOp op;

    public HierarchicalAllReduce(Rings rings, ByteBuffer buf, DataType type, ReduceOp op) {
        this.rings = rings;
        this.buf = buf;
        this.type = type;
        this.op = op;
    }

    @Override
    public void run(Exchange ex) {
        int elementBytes = type.bytes();
        ReduceOp passOp = op == ReduceOp.AVG ? ReduceOp.SUM : op;
        Ring inside = rings.inside();
        Ring across = rings.across();
        Segments local = Segments.balanced(buf.limit() / elementBytes, inside.size(), elementBytes, ex.chunkBytes());
        RingPass.run(ex, inside, buf, local, type, passOp, 0, inside.size() - 1);
        int start = local.start(inside.index());
        int length = local.length(inside.index());
        ByteBuffer shard = buf.slice(start, length).order(buf.order());
        Segments cross = Segments.balanced(length / elementBytes, across.size(), elementBytes, ex.chunkBytes());
        RingPass.run(ex, across, shard, cross, type, passOp, 0, 2 * across.size() - 2);
        if (op == ReduceOp.AVG) {
            Reductions.divide(type, shard, 0, length / elementBytes, ex.size());
        }
        RingPass.run(ex, inside, buf, local, type, null, inside.size() - 1, 2 * inside.size() - 2);
    }
}
