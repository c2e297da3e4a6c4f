package dev.trainyard.bench;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * One rank of the all-reduce benchmark (a separate JVM). For each size: warm-up calls, then
 * timed calls each preceded by a barrier; rank 0 prints one line per size,
 * {@code ROW bytes iters median_seconds}, which the parent turns into the table. Runs under
 * {@code trainyard launch} (one launcher, or one per simulated host with {@code --link}).
 */
public final class AllReduceWorker {
    private AllReduceWorker() {
    }

    /**
     * Brings the JIT to steady state before anything is timed: on 2 cores C2 needs seconds of
     * traffic to finish compiling the netty and reduction paths. The count is fixed (not
     * time-based) so every rank issues the same number of collectives.
     */
    private static void warmUp(Communicator comm, long totalBytes) {
        int bytes = 16 << 20;
        ByteBuffer buf = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        for (long done = 0; done < totalBytes; done += bytes) {
            comm.allReduce(buf, DataType.FLOAT32, ReduceOp.SUM);
        }
    }

    public static void main(String[] args) {
        long[] sizes = Arrays.stream(args[0].split(",")).mapToLong(Long::parseLong).toArray();
        int[] iters = Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray();
        int warmup = Integer.parseInt(args[2]);
        int chunkBytes = Integer.parseInt(args[3]);
        try (ProcessGroup pg = Trainyard.init(o -> o.withChunkBytes(chunkBytes).withTransport(Transport.valueOf(args[5]))
                .withTimeout(Duration.ofMinutes(2)).withConnectTimeout(Duration.ofMinutes(1)))) {
            Communicator comm = pg.communicator();
            int rank = pg.rank();
            warmUp(comm, Long.parseLong(args[4]));
            for (int s = 0; s < sizes.length; s++) {
                ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(sizes[s])).order(ByteOrder.nativeOrder());
                for (int i = 0; i < buf.limit(); i += 4) {
                    buf.putFloat(i, 1f);
                }
                for (int i = 0; i < warmup; i++) {
                    comm.allReduce(buf, DataType.FLOAT32, ReduceOp.SUM);
                }
                double[] times = new double[iters[s]];
                for (int i = 0; i < iters[s]; i++) {
                    comm.barrier();
                    long t0 = System.nanoTime();
                    comm.allReduce(buf, DataType.FLOAT32, ReduceOp.SUM);
                    times[i] = (System.nanoTime() - t0) / 1e9;
                }
                Arrays.sort(times);
                double median = times.length % 2 == 1 ? times[times.length / 2]
                        : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
                if (rank == 0) {
                    System.out.println(String.format(Locale.ROOT, "ROW %d %d %.9f", sizes[s], iters[s], median));
                    System.out.flush();
                }
            }
            comm.barrier();
        }
    }
}
