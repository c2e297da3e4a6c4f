package dev.trainyard.collectives.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every op and type, checked element by element against a naive reduction, for 1, 2, 3, 4 and 8
 * ranks, on every transport; both with the default algorithm choice (direct exchange for small
 * sizes, ring above 64 KiB) and with the ring forced for every size and tiny 4 KiB chunks (many
 * pipeline steps, empty and uneven segments).
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
                args.add(Arguments.of(n, t + ", default algorithms", (UnaryOperator<CommunicatorOptions>) o -> o.withTransport(t), COUNTS));
                args.add(Arguments.of(n, t + ", ring only, 4 KiB chunks", (UnaryOperator<CommunicatorOptions>) o ->
                        o.withTransport(t).withChunkBytes(4096).withSmallMessageBytes(0), SMALL_CHUNK_COUNTS));
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} ranks, {1}")
    @MethodSource("groups")
    void allReduceMatchesNaiveReduction(int n, String config, UnaryOperator<CommunicatorOptions> tweak, int[] counts) {
        try (LocalGroup g = new LocalGroup(n, (r, o) -> tweak.apply(o))) {
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
