package dev.trainyard.runtime.train;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.reduce.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Rank 0 of 2 averaging with a peer whose gradients are all {@link #PEER} (and whose non-finite
 * flag is 0): float32 buckets are averaged; compressed (half-precision) buckets arrive pre-divided
 * by the world size and are summed with the peer's pre-divided {@code PEER / 2}, so both give
 * {@code (g + PEER) / 2}.
 */
class HostPair implements Communicator {
    static final float PEER = 0.25f;

    int hostCalls;
    /** The number (from 1) of each all-reduce that was asked to run on the caller's thread. */
    final List<Integer> callerThreadCalls = new ArrayList<>();

    @Override
    public Work allReduceOnCallerThread(ByteBuffer buffer, DataType type, ReduceOp op) {
        callerThreadCalls.add(hostCalls + 1);
        return allReduceAsync(buffer, type, op);
    }

    static Work done(CollectiveOp op, long count) {
        Work.Completion w = Work.issue(new Fingerprint(0, op, ReduceOp.AVG, DataType.FLOAT32, count, -1));
        w.complete();
        return w.work();
    }

    @Override
    public Work allReduceAsync(ByteBuffer buffer, DataType type, ReduceOp op) {
        hostCalls++;
        ByteBuffer b = buffer.slice().order(ByteOrder.nativeOrder());
        if (type == DataType.FLOAT16 || type == DataType.BFLOAT16) {
            if (op != ReduceOp.SUM) {
                throw new AssertionError("compressed buckets are pre-divided and summed, got " + op);
            }
            int n = b.remaining() / 2;
            for (int j = 0; j < n; j++) {
                short h = b.getShort(j * 2);
                float mine = type == DataType.FLOAT16 ? HalfFloats.float16ToFloat(h) : HalfFloats.bfloat16ToFloat(h);
                float sum = mine + (j == n - 1 ? 0 : PEER / 2);
                b.putShort(j * 2, type == DataType.FLOAT16 ? HalfFloats.floatToFloat16(sum) : HalfFloats.floatToBfloat16(sum));
            }
            return done(CollectiveOp.ALL_REDUCE, n);
        }
        int n = b.remaining() / 4;
        for (int j = 0; j < n; j++) {
            b.putFloat(j * 4, (b.getFloat(j * 4) + (j == n - 1 ? 0 : PEER)) / 2);
        }
        return done(CollectiveOp.ALL_REDUCE, n);
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 2;
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, DataType type, int root) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, DataType type) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Work barrierAsync() {
        throw new UnsupportedOperationException();
    }

    @Override
    public void abort(String reason) {
    }

    @Override
    public void close() {
    }
}
