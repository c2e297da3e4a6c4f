package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps the model's buffers — parameters without gradients, such as batch norm's running mean and
 * variance, which every rank updates from its own batches in each forward — identical on every
 * rank, so evaluations and checkpoints do not depend on which rank makes them.
 *
 * <p>PyTorch DDP copies rank 0's buffers before each forward, so they differ again after it and
 * reflect rank 0's batches only. Here the float32 buffers are averaged over the ranks after each
 * training forward instead, in one all-reduce that runs while backward computes and is awaited
 * before the optimizer step: every rank then holds the same values after every step. A running
 * mean so averaged is exactly the one the whole global batch would give (the update is linear);
 * a running variance is the mean of the ranks' batch variances, which leaves out how far the
 * ranks' batch means lie apart. Buffers of other types (counters) are copied from rank 0.
 * All float32 buffers travel packed in name order in one buffer made once: a ResNet has dozens,
 * and one call each would cost a round trip each. On CPU each buffer's own memory is taken as a
 * view once (the statistics are updated in place, so it does not move), and a step only copies.
 */
final class BufferSync {
    private final List<NDArray> averaged;
    private final List<NDArray> copied;
    private final int[] offsets;
    private final ByteBuffer packed;
    /** Each averaged buffer's own memory on CPU, taken once; null where it lives on a device and is copied through the host. */
    private final ByteBuffer[] views;
    private Work inFlight;

    private BufferSync(List<NDArray> averaged, List<NDArray> copied, int[] offsets, int bytes) {
        this.averaged = averaged;
        this.copied = copied;
        this.offsets = offsets;
        this.packed = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        this.views = new ByteBuffer[averaged.size()];
        for (int i = 0; i < views.length; i++) {
            views[i] = ParameterBytes.hostView(averaged.get(i));
        }
    }

    /** The block's buffers, or null when it has none (then there is nothing to do each step). */
    static BufferSync of(Block block) {
        List<NDArray> averaged = new ArrayList<>();
        List<NDArray> copied = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (!p.getValue().requiresGradient()) {
                NDArray a = p.getValue().getArray();
                (a.getDataType() == ai.djl.ndarray.types.DataType.FLOAT32 ? averaged : copied).add(a);
            }
        }
        if (averaged.isEmpty() && copied.isEmpty()) {
            return null;
        }
        int[] offsets = new int[averaged.size()];
        long bytes = 0;
        for (int i = 0; i < averaged.size(); i++) {
            offsets[i] = (int) bytes;
            bytes += averaged.get(i).size() * 4;
        }
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalStateException("the model's buffers (parameters without gradients) hold " + bytes
                    + " bytes, more than one all-reduce carries; turn buffer synchronization off with DistributedOptions.withBufferSync(false)");
        }
        return new BufferSync(List.copyOf(averaged), List.copyOf(copied), offsets, (int) bytes);
    }

    /** Collective, after a training forward: starts averaging this rank's buffers with the others'. */
    void start(Communicator comm) {
        if (averaged.isEmpty()) {
            return;
        }
        for (int i = 0; i < averaged.size(); i++) {
            int at = offsets[i];
            if (views[i] != null) {
                packed.put(at, views[i], 0, views[i].capacity());
            } else {
                ParameterBytes.read(averaged.get(i), bytes -> packed.put(at, bytes, bytes.position(), bytes.remaining()));
            }
        }
        packed.clear();
        inFlight = comm.allReduceAsync(packed, DataType.FLOAT32, ReduceOp.AVG);
    }

    /** Collective, before the optimizer step: waits for the average and writes it back; copies the other buffers from rank 0. */
    void finish(Communicator comm) {
        if (inFlight != null) {
            inFlight.await();
            inFlight = null;
            for (int i = 0; i < averaged.size(); i++) {
                int at = offsets[i];
                if (views[i] != null) {
                    views[i].put(0, packed, at, views[i].capacity());
                } else {
                    ParameterBytes.update(averaged.get(i), bytes -> bytes.put(bytes.position(), packed, at, bytes.remaining()));
                }
            }
        }
        for (NDArray a : copied) {
            ParameterSync.broadcastFromRank0(a, comm);
        }
    }

    /** At close: lets a started average end without using it (a forward that no step followed). */
    void awaitInFlight() {
        if (inFlight != null) {
            inFlight.await();
            inFlight = null;
        }
    }

    int count() {
        return averaged.size() + copied.size();
    }

    int bytes() {
        return packed.capacity();
    }
}
