package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Broadcast, all-gather, reduce-scatter and barrier against naive results, same groups as
 * all-reduce but for the simulated hosts: the hierarchy is an all-reduce algorithm only.
 */
class OtherCollectivesCorrectnessTest {

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> groups() {
        return AllReduceCorrectnessTest.groups().filter(a -> !"hierarchical".equals(a.get()[4]));
    }

    @ParameterizedTest(name = "{0} ranks, {1}")
    @MethodSource("groups")
    void broadcastAllGatherReduceScatter(int n, String config, BiFunction<Integer, CommunicatorOptions, CommunicatorOptions> tweak, int[] counts,
            String allReduceAlgorithm) {
        try (LocalGroup g = new LocalGroup(n, tweak)) {
            for (DataType t : DataType.values()) {
                for (int count : counts) {
                    checkBroadcast(g, n, t, count);
                    checkAllGather(g, n, t, count);
                    for (ReduceOp op : new ReduceOp[] {ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX}) {
                        checkReduceScatter(g, n, t, op, count);
                    }
                }
            }
            // The barrier completes on every rank (and it would time out if one rank skipped it).
            assertEquals(n, g.onAll(r -> {
                g.comm(r).barrier();
                return 1;
            }).stream().mapToInt(Integer::intValue).sum());
        }
    }

    private static void checkBroadcast(LocalGroup g, int n, DataType t, int count) {
        int root = n - 1;
        List<ByteBuffer> out = g.onAll(r -> {
            ByteBuffer b = Elements.allocate(t, count);
            for (int i = 0; i < count; i++) {
                Elements.put(t, b, i, Elements.value(ReduceOp.SUM, r, i));
            }
            g.comm(r).broadcast(b, t, root);
            return b;
        });
        for (int r = 0; r < n; r++) {
            for (int i = 0; i < count; i++) {
                double want = Elements.value(ReduceOp.SUM, root, i);
                double got = Elements.get(t, out.get(r), i);
                if (want != got) { // the message only on a mismatch: building it per element took most of this test's minutes
                    assertEquals(want, got, "broadcast " + t + " count " + count + " rank " + r + " element " + i);
                }
            }
        }
    }

    private static void checkAllGather(LocalGroup g, int n, DataType t, int count) {
        List<ByteBuffer> out = g.onAll(r -> {
            ByteBuffer in = Elements.allocate(t, count);
            for (int i = 0; i < count; i++) {
                Elements.put(t, in, i, Elements.value(ReduceOp.SUM, r, i));
            }
            ByteBuffer o = Elements.allocate(t, count * n);
            g.comm(r).allGather(in, o, t);
            return o;
        });
        for (int r = 0; r < n; r++) {
            for (int src = 0; src < n; src++) {
                for (int i = 0; i < count; i++) {
                    double want = Elements.value(ReduceOp.SUM, src, i);
                    double got = Elements.get(t, out.get(r), src * count + i);
                    if (want != got) {
                        assertEquals(want, got, "allGather " + t + " count " + count + " rank " + r + " block " + src + " element " + i);
                    }
                }
            }
        }
    }

    private static void checkReduceScatter(LocalGroup g, int n, DataType t, ReduceOp op, int count) {
        List<ByteBuffer[]> out = g.onAll(r -> {
            ByteBuffer in = Elements.allocate(t, count * n);
            for (int i = 0; i < count * n; i++) {
                Elements.put(t, in, i, Elements.value(op, r, i));
            }
            ByteBuffer before = Elements.allocate(t, count * n).put(in.duplicate()).flip();
            ByteBuffer o = Elements.allocate(t, count);
            g.comm(r).reduceScatter(in, o, t, op);
            return new ByteBuffer[] {o, in, before};
        });
        for (int r = 0; r < n; r++) {
            assertTrue(out.get(r)[1].equals(out.get(r)[2]), "reduceScatter must leave its input untouched");
            for (int i = 0; i < count; i++) {
                double want = Elements.expected(t, op, n, r * count + i);
                double got = Elements.get(t, out.get(r)[0], i);
                if (want != got) {
                    assertEquals(want, got, "reduceScatter " + op + " " + t + " count " + count + " rank " + r + " element " + i);
                }
            }
        }
    }
}
