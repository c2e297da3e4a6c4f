package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.trainyard.collectives.AllReduceAlgorithm;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op and type, checked element by element against a naive reduction, for 1, 2, 3, 4 and 8
 * ranks, on every transport; both with the default algorithm choice (direct exchange for small
 * sizes, ring above 64 KiB) and with the ring forced for every size and tiny 4 KiB chunks (many
 * pipeline steps, empty and uneven segments). The hierarchical all-reduce runs on ranks that
 * publish host identities of simulated hosts (2 hosts x 2 ranks, 2 x 3, 3 x 2).
 */
class AllReduceCorrectnessTest {
    /**
     * Element counts: empty, one, seven, not divisible by any tested rank count, and 65,537 (a prime:
     * 256 KiB of FLOAT32, above the 64 KiB switch to the ring, uneven segments for every rank count).
     * 1 MiB took four times as long for the same path (one chunk per segment either way); sizes that
     * span many chunks are {@code LargeAllReduceTest}'s.
     */
    static final int[] COUNTS = {0, 1, 7, 1009, 65_537};
    /**
     * With 4 KiB chunks 20,011 elements (a prime) already make dozens of pipeline steps per segment;
     * 1 MiB there only repeated the same steps for minutes of suite time.
     */
    static final int[] SMALL_CHUNK_COUNTS = {0, 1, 7, 1009, 20_011};

    static Stream<Arguments> groups() {
        List<Arguments> args = new ArrayList<>();
        for (Transport t : Transport.values()) {
            for (int n : new int[] {1, 2, 3, 4, 8}) {
                args.add(Arguments.of(n, t + ", default algorithms", everyRank(o -> o.withTransport(t)), COUNTS, "ring"));
                args.add(Arguments.of(n, t + ", ring only, 4 KiB chunks", everyRank(o ->
                        o.withTransport(t).withChunkBytes(4096).withSmallMessageBytes(0)), SMALL_CHUNK_COUNTS, "ring"));
            }
        }
        args.add(Arguments.of(4, "2 hosts x 2 ranks, hierarchical", hosts(2, o -> o), COUNTS, "hierarchical"));
        args.add(Arguments.of(6, "2 hosts x 3 ranks, hierarchical, 4 KiB chunks", hosts(3, o -> o.withChunkBytes(4096).withSmallMessageBytes(0)),
                SMALL_CHUNK_COUNTS, "hierarchical"));
        args.add(Arguments.of(6, "3 hosts x 2 ranks over TCP, hierarchical", hosts(2, o -> o.withTransport(Transport.TCP)), COUNTS,
                "hierarchical"));
        return args.stream();
    }

    private static BiFunction<Integer, CommunicatorOptions, CommunicatorOptions> everyRank(UnaryOperator<CommunicatorOptions> tweak) {
        return (r, o) -> tweak.apply(o);
    }

    /** Ranks in blocks of {@code perHost} publish one simulated host's identity. */
    private static BiFunction<Integer, CommunicatorOptions, CommunicatorOptions> hosts(int perHost, UnaryOperator<CommunicatorOptions> tweak) {
        return (r, o) -> tweak.apply(o).withHostIdentity("simulated-host-" + r / perHost);
    }

    @Test
    void theHierarchicalAllReduceIsRefusedWhereItDoesNotApplyAndTheRingCanBeForced() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LocalGroup(3,
                (r, o) -> o.withAllReduceAlgorithm(AllReduceAlgorithm.HIERARCHICAL).withHostIdentity("simulated-host-" + Math.min(r, 1))).close());
        assertEquals("the hierarchical all-reduce was asked for, but the hosts have different numbers of ranks [1, 2];"
                + " use the ring (--all-reduce ring) or let Trainyard choose (--all-reduce auto)", e.getMessage());
        try (LocalGroup g = new LocalGroup(4, hosts(2, o -> o.withAllReduceAlgorithm(AllReduceAlgorithm.RING)))) {
            assertEquals("ring", g.comm(3).allReduceAlgorithm(1 << 20));
            assertEquals("direct", g.comm(3).allReduceAlgorithm(64 << 10));
        }
    }

    /**
     * @param algorithm what must carry sizes above the direct exchange: {@code ring} stands for what
     *                  one host chooses (the ring, or its shared segment for 3 or more ranks)
     */
    @ParameterizedTest(name = "{0} ranks, {1}")
    @MethodSource("groups")
    void allReduceMatchesNaiveReduction(int n, String config, BiFunction<Integer, CommunicatorOptions, CommunicatorOptions> tweak, int[] counts,
            String algorithm) {
        try (LocalGroup g = new LocalGroup(n, tweak)) {
            if (n > 1) {
                String used = g.comm(0).allReduceAlgorithm(1 << 20);
                assertEquals(algorithm, used.equals("host segment") ? "ring" : used);
            }
            for (DataType t : DataType.values()) {
                for (ReduceOp op : ReduceOp.values()) {
                    for (int count : counts) {
                        List<ByteBuffer> results = g.onAll(r -> {
                            ByteBuffer b = Elements.allocate(t, count);
                            for (int i = 0; i < count; i++) {
                                Elements.put(t, b, i, Elements.value(op, r, i));
                            }
                            g.comm(r).allReduce(b, t, op);
                            return b;
                        });
                        for (int r = 0; r < n; r++) {
                            ByteBuffer b = results.get(r);
                            for (int i = 0; i < count; i++) {
                                double want = Elements.expected(t, op, n, i);
                                double got = Elements.get(t, b, i);
                                if (want != got) {
                                    assertEquals(want, got, op + " " + t + " count " + count + " rank " + r + " element " + i);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
