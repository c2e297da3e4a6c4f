package dev.trainyard.examples;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The smallest real job: every rank all-reduces a tensor whose expected sum it can compute on
 * its own, and fails loudly on any wrong element. {@code ./trainyard launch --nproc-per-node 4
 * --example allreduce -- --iterations 20 --elements 1000000}
 */
public final class AllReduceCheck {
    private AllReduceCheck() {
    }

    public static void main(String[] args) {
        int iterations = intArg(args, "--iterations", 10);
        int elements = intArg(args, "--elements", 1 << 18);
        try (ProcessGroup pg = Trainyard.init()) {
            int rank = pg.rank();
            int n = pg.worldSize();
            System.out.println("rank " + rank + " of " + n + " ready (pid " + ProcessHandle.current().pid()
                    + ", restart " + pg.restartCount() + ")");
            Communicator comm = pg.communicator();
            ByteBuffer bytes = ByteBuffer.allocateDirect(elements * Float.BYTES).order(ByteOrder.nativeOrder());
            FloatBuffer buf = bytes.asFloatBuffer();
            long t0 = System.nanoTime();
            for (int it = 0; it < iterations; it++) {
                for (int j = 0; j < elements; j++) {
                    buf.put(j, rank + 1 + pattern(j, it));
                }
                comm.allReduce(bytes, DataType.FLOAT32, ReduceOp.SUM);
                for (int j = 0; j < elements; j++) {
                    float expected = n * (n + 1) / 2f + n * pattern(j, it);
                    if (buf.get(j) != expected) {
                        throw new IllegalStateException("iteration " + it + ", element " + j + ": all-reduce gave "
                                + buf.get(j) + ", expected " + expected);
                    }
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            comm.barrier();
            System.out.printf("rank %d: all-reduce check passed (%d iterations x %d floats over %d ranks, %.2f s)%n",
                    rank, iterations, elements, n, seconds);
        }
    }

    /** Small integers, so every partial sum is exact in float and the check can demand equality. */
    private static float pattern(int element, int iteration) {
        return (element + iteration) % 7;
    }

    private static int intArg(String[] args, String name, int fallback) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals(name)) {
                if (i + 1 == args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                return Integer.parseInt(args[i + 1]);
            }
        }
        return fallback;
    }
}
