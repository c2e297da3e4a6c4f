package dev.trainyard.runtime.preflight;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.HostCommunicator;
import dev.trainyard.collectives.store.Store;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Bandwidth of each link of the ring (rank r to rank r+1): the two ends form a group of two and
 * time an all-reduce, so a slow cable or a misrouted node shows up as one slow link rather than
 * as a slow job. Links run in rounds (even pairs, then odd, then the wrap-around for odd worlds)
 * so no rank is in two probes at once.
 */
final class LinkProbe {
    static final int BYTES = 8 << 20;
    private static final int REPEATS = 3;

    /** A measured link, from this rank's side: seconds per all-reduce of {@link #BYTES}. */
    record Link(int from, int to, double gbPerSecond) {
    }

    private LinkProbe() {
    }

    /** The links this rank is an end of, measured. */
    static List<Link> run(Store store, int rank, int size, CommunicatorOptions options) {
        List<Link> mine = new ArrayList<>();
        if (size < 2) {
            return mine;
        }
        ByteBuffer buf = ByteBuffer.allocateDirect(BYTES).order(ByteOrder.nativeOrder());
        for (int round = 0; round < 3; round++) {
            for (int a = 0; a < size; a++) {
                int b = (a + 1) % size;
                if (roundOf(a, size) != round || (size == 2 && a == 1)) {
                    continue; // with two ranks, 0-1 and 1-0 are the same link
                }
                if (rank == a || rank == b) {
                    mine.add(measure(store.prefixed("link/" + a + "/"), rank == a ? 0 : 1, a, b, buf, options));
                }
            }
        }
        return mine;
    }

    private static int roundOf(int a, int size) {
        if (size % 2 == 1 && a == size - 1) {
            return 2; // the wrap-around link of an odd ring
        }
        return a % 2;
    }

    private static Link measure(Store store, int pairRank, int a, int b, ByteBuffer buf, CommunicatorOptions options) {
        try (Communicator c = HostCommunicator.connect(store, pairRank, 2, options)) {
            for (int i = 0; i < 2; i++) {
                c.allReduce(buf, DataType.FLOAT32, ReduceOp.SUM); // connections, buffers and the JIT warm
            }
            long t0 = System.nanoTime();
            for (int i = 0; i < REPEATS; i++) {
                c.allReduce(buf, DataType.FLOAT32, ReduceOp.SUM);
            }
            double seconds = (System.nanoTime() - t0) / 1e9 / REPEATS;
            return new Link(a, b, BYTES / seconds / 1e9); // two ranks: bus bandwidth = algorithm bandwidth
        }
    }
}
