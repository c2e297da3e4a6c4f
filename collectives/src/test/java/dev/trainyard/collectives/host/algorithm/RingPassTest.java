package dev.trainyard.collectives.host.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.MemoryLinks;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The ring algorithm alone, over in-memory links: results against sums computed here element by
 * element, bit-identical results on every rank, and frames only ever to the right neighbour.
 * Uneven segments and several chunks per segment (4 KiB chunks) are the cases that matter.
 */
class RingPassTest {
    private static final int CHUNK = 4096;

    /** Small integers: every order of summation gives the exact same float, so the check is exact. */
    private static float input(int rank, int i) {
        return ((i * 7 + rank * 13) % 31) - 15;
    }

    private static float sum(int n, int i) {
        float s = 0;
        for (int r = 0; r < n; r++) {
            s += input(r, i);
        }
        return s;
    }

    /** Runs steps {@code [first, end)} on every rank, each starting from {@code start(rank)}; returns each rank's buffer. */
    private static float[][] ring(int n, int count, ReduceOp op, int first, int end, java.util.function.IntFunction<float[]> start)
            throws Exception {
        MemoryLinks net = new MemoryLinks(n, CHUNK, 4);
        Segments segs = Segments.balanced(count, n, 4, CHUNK);
        Fingerprint fp = new Fingerprint(1, CollectiveOp.ALL_REDUCE, op, DataType.FLOAT32, count, -1);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<float[]>> results = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                results.add(pool.submit(() -> {
                    net.runsOn(rank, Thread.currentThread());
                    ByteBuffer buf = ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder());
                    buf.asFloatBuffer().put(start.apply(rank));
                    Exchange ex = net.exchanges[rank];
                    ex.begin(fp, System.nanoTime() + TimeUnit.SECONDS.toNanos(20));
                    RingPass.run(ex, buf, segs, DataType.FLOAT32, op, first, end);
                    float[] out = new float[count];
                    buf.asFloatBuffer().get(out);
                    return out;
                }));
            }
            float[][] out = new float[n][];
            for (int r = 0; r < n; r++) {
                out[r] = results.get(r).get(30, TimeUnit.SECONDS);
            }
            for (int r = 0; r < n; r++) {
                for (int p = 0; p < n; p++) {
                    if (p != r && p != (r + 1) % n) {
                        assertEquals(0, net.framesSent(r, p), "rank " + r + " sent to rank " + p + ", which is not its right neighbour");
                    }
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static float[] inputs(int rank, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = input(rank, i);
        }
        return v;
    }

    @Test
    void allReduceSumsEveryElementExactlyOnEveryRank() throws Exception {
        for (int n : new int[] {2, 3, 5}) {
            int count = 10_007; // a prime: segments of unequal length, each of several 4 KiB chunks
            float[][] out = ring(n, count, ReduceOp.SUM, 0, 2 * n - 2, r -> inputs(r, count));
            for (int r = 0; r < n; r++) {
                for (int i = 0; i < count; i++) {
                    if (out[r][i] != sum(n, i)) {
                        assertEquals(sum(n, i), out[r][i], n + " ranks: rank " + r + " element " + i);
                    }
                }
            }
        }
    }

    @Test
    void averageDividesOnceAndEveryRankHoldsTheSameBits() throws Exception {
        int n = 3;
        int count = 5_000;
        float[][] out = ring(n, count, ReduceOp.AVG, 0, 2 * n - 2, r -> inputs(r, count));
        for (int i = 0; i < count; i++) {
            assertEquals(sum(n, i) / n, out[0][i], 1e-6, "element " + i);
            for (int r = 1; r < n; r++) {
                assertEquals(Float.floatToRawIntBits(out[0][i]), Float.floatToRawIntBits(out[r][i]), "rank " + r + " element " + i);
            }
        }
    }

    @Test
    void theFirstHalfLeavesEachRankItsOwnSegmentReduced() throws Exception {
        int n = 4;
        int count = 9_001;
        Segments segs = Segments.balanced(count, n, 4, CHUNK);
        float[][] out = ring(n, count, ReduceOp.SUM, 0, n - 1, r -> inputs(r, count));
        for (int r = 0; r < n; r++) {
            int from = segs.start(r) / 4;
            int to = from + segs.length(r) / 4;
            for (int i = from; i < to; i++) {
                assertEquals(sum(n, i), out[r][i], "rank " + r + " element " + i + " of its segment");
            }
        }
    }

    @Test
    void theSecondHalfCopiesEachRanksSegmentToAll() throws Exception {
        int n = 3;
        int count = 7_777;
        Segments segs = Segments.balanced(count, n, 4, CHUNK);
        // rank r starts with only its own segment filled (with -1 - r elsewhere, which must be overwritten)
        float[][] out = ring(n, count, ReduceOp.SUM, n - 1, 2 * n - 2, r -> {
            float[] v = new float[count];
            java.util.Arrays.fill(v, -1 - r);
            for (int i = segs.start(r) / 4; i < (segs.start(r) + segs.length(r)) / 4; i++) {
                v[i] = 1000 * r + i % 1000;
            }
            return v;
        });
        for (int r = 0; r < n; r++) {
            for (int owner = 0; owner < n; owner++) {
                for (int i = segs.start(owner) / 4; i < (segs.start(owner) + segs.length(owner)) / 4; i++) {
                    assertEquals(1000 * owner + i % 1000, out[r][i], "rank " + r + " element " + i + " of rank " + owner + "'s segment");
                }
            }
        }
    }

    @Test
    void oneRankIsLeftAlone() throws Exception {
        float[][] out = ring(1, 100, ReduceOp.SUM, 0, 0, r -> inputs(r, 100));
        assertTrue(java.util.Arrays.equals(inputs(0, 100), out[0]));
    }
}
