package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** 64 MiB of random floats: results within float rounding of a double-precision sum, identical on every rank. */
class LargeAllReduceTest {
    static final int COUNT = 16 << 20; // 64 MiB of FLOAT32


    @ParameterizedTest(name = "{0} ranks, {1}")
    @CsvSource({"2, TCP", "4, TCP", "2, GRPC_STREAM", "4, GRPC_STREAM"})
    void sixtyFourMebibytesAverage(int n, Transport transport) {
        try (LocalGroup g = new LocalGroup(n, transport)) {
            List<ByteBuffer> out = g.onAll(r -> {
                ByteBuffer b = Elements.allocate(DataType.FLOAT32, COUNT);
                FloatBuffer f = b.asFloatBuffer();
                SplittableRandom rnd = new SplittableRandom(r);
                for (int i = 0; i < COUNT; i++) {
                    f.put(i, (float) rnd.nextDouble(-1, 1));
                }
                g.comm(r).allReduce(b, DataType.FLOAT32, ReduceOp.AVG);
                return b;
            });
            SplittableRandom[] rnd = new SplittableRandom[n];
            for (int r = 0; r < n; r++) {
                rnd[r] = new SplittableRandom(r);
            }
            FloatBuffer got = out.get(0).asFloatBuffer();
            double worst = 0;
            for (int i = 0; i < COUNT; i++) {
                double sum = 0;
                for (int r = 0; r < n; r++) {
                    sum += (float) rnd[r].nextDouble(-1, 1);
                }
                worst = Math.max(worst, Math.abs(sum / n - got.get(i)));
            }
            // n float32 additions of values in [-1, 1]: error well below 1e-6.
            assertTrue(worst < 1e-6, "max abs error " + worst);
            for (int r = 1; r < n; r++) {
                assertEquals(out.get(0), out.get(r), "rank " + r + " must hold bit-identical results");
            }
        }
    }
}
