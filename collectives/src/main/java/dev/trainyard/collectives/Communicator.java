package dev.trainyard.collectives;

import java.nio.ByteBuffer;

/**
 * A group of {@link #size()} ranks that run collectives together (c10d's {@code ProcessGroup}).
 *
 * <p>Buffers are direct {@link ByteBuffer}s; a collective works in place on the bytes between
 * position and limit, in the platform's native byte order, and does not move position or limit.
 * The buffer must not be touched until the returned {@link Work} is done. Calls return at once;
 * work is executed and completed in issue order, and every rank must issue the same sequence
 * (checked: a disagreement fails with {@link FingerprintMismatchException}).
 */
public interface Communicator extends AutoCloseable {

    int rank();

    int size();

    /** Reduces {@code buffer} across all ranks; every rank ends with the result. */
    Work allReduceAsync(ByteBuffer buffer, DataType type, ReduceOp op);

    /**
     * {@link #allReduceAsync} for a caller that waits for the result next: when nothing else is
     * queued, the all-reduce runs on the calling thread, which returns with the work complete. That
     * saves handing the call to the communicator's thread and the result back (two wake-ups, each
     * of which can wait for a core when ranks share few). Otherwise it is queued like any other.
     */
    default Work allReduceOnCallerThread(ByteBuffer buffer, DataType type, ReduceOp op) {
        return allReduceAsync(buffer, type, op);
    }

    /** Copies {@code root}'s buffer into every other rank's buffer. */
    Work broadcastAsync(ByteBuffer buffer, DataType type, int root);

    /** Concatenates every rank's {@code input} in rank order into {@code output} (size × input). */
    Work allGatherAsync(ByteBuffer input, ByteBuffer output, DataType type);

    /** Reduces {@code input} (size × output) across ranks; rank r receives block r in {@code output}. */
    Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op);

    /** Completes once every rank has entered the barrier. */
    Work barrierAsync();

    /** Fails all pending work at once, tells the peers, and releases ports and threads. */
    void abort(String reason);

    /** Waits for pending work, then releases ports and threads. */
    @Override
    void close();

    // ---- blocking variants ----

    default void allReduce(ByteBuffer buffer, DataType type, ReduceOp op) {
        allReduceOnCallerThread(buffer, type, op).await();
    }

    default void broadcast(ByteBuffer buffer, DataType type, int root) {
        broadcastAsync(buffer, type, root).await();
    }

    default void allGather(ByteBuffer input, ByteBuffer output, DataType type) {
        allGatherAsync(input, output, type).await();
    }

    default void reduceScatter(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        reduceScatterAsync(input, output, type, op).await();
    }

    default void barrier() {
        barrierAsync().await();
    }

    // ---- conveniences for Java arrays (copy through a direct buffer; not for hot paths) ----

    default void allReduce(float[] data, ReduceOp op) {
        ByteBuffer b = ArrayBuffers.of(data);
        allReduce(b, DataType.FLOAT32, op);
        ArrayBuffers.copyBack(b, data);
    }

    default void allReduce(double[] data, ReduceOp op) {
        ByteBuffer b = ArrayBuffers.of(data);
        allReduce(b, DataType.FLOAT64, op);
        ArrayBuffers.copyBack(b, data);
    }

    default void allReduce(int[] data, ReduceOp op) {
        ByteBuffer b = ArrayBuffers.of(data);
        allReduce(b, DataType.INT32, op);
        ArrayBuffers.copyBack(b, data);
    }

    default void allReduce(long[] data, ReduceOp op) {
        ByteBuffer b = ArrayBuffers.of(data);
        allReduce(b, DataType.INT64, op);
        ArrayBuffers.copyBack(b, data);
    }

    default void broadcast(float[] data, int root) {
        ByteBuffer b = ArrayBuffers.of(data);
        broadcast(b, DataType.FLOAT32, root);
        ArrayBuffers.copyBack(b, data);
    }

    default void broadcast(long[] data, int root) {
        ByteBuffer b = ArrayBuffers.of(data);
        broadcast(b, DataType.INT64, root);
        ArrayBuffers.copyBack(b, data);
    }

    /** Returns every rank's {@code data} concatenated in rank order. */
    default float[] allGather(float[] data) {
        ByteBuffer out = ArrayBuffers.direct((long) data.length * Float.BYTES * size());
        allGather(ArrayBuffers.of(data), out, DataType.FLOAT32);
        float[] result = new float[data.length * size()];
        ArrayBuffers.copyBack(out, result);
        return result;
    }

    /** Returns this rank's block of the reduction of {@code data} (whose length is a multiple of size()). */
    default float[] reduceScatter(float[] data, ReduceOp op) {
        if (data.length % size() != 0) {
            throw new IllegalArgumentException("reduceScatter input length " + data.length
                    + " is not a multiple of the group size " + size());
        }
        float[] result = new float[data.length / size()];
        ByteBuffer out = ArrayBuffers.of(result);
        reduceScatter(ArrayBuffers.of(data), out, DataType.FLOAT32, op);
        ArrayBuffers.copyBack(out, result);
        return result;
    }
}
