package dev.trainyard.collectives;

/**
 * Collectives on device memory: {@code devicePointer} is the address of {@code count} contiguous
 * elements on this rank's GPU. The work is ordered after everything already queued on the compute
 * stream (so gradients written by backward are complete) and runs on the communicator's own
 * stream, so compute can continue meanwhile. The memory must not be written until the work is done.
 */
public interface DeviceCollectives {

    /** The CUDA device (ordinal within this process's visible devices) the communicator runs on. */
    int device();

    Work allReduceAsync(long devicePointer, long count, DataType type, ReduceOp op);

    Work broadcastAsync(long devicePointer, long count, DataType type, int root);
}
