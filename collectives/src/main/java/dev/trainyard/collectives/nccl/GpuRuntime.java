package dev.trainyard.collectives.nccl;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;

/**
 * The CUDA runtime and NCCL calls Trainyard makes, behind one narrow seam: {@link JavaCppGpuRuntime}
 * binds them through JavaCPP; tests substitute a fake device layer to drive the communicator's
 * ordering, timeout and abort logic on machines without a GPU. Handles (communicators, streams,
 * events, device pointers) are raw addresses. Every call throws {@link GpuCallException} on an
 * error code; collectives are only enqueued on {@code stream}.
 */
public interface GpuRuntime {

    /** The legacy default stream: where PyTorch (and so DJL) runs its kernels unless told otherwise. */
    long COMPUTE_STREAM = 0L;

    int NCCL_SUCCESS = 0;
    int NCCL_IN_PROGRESS = 7;

    int deviceCount();

    /** The loaded {@code libnccl.so.2}'s version code ({@code ncclGetVersion}); call before any other NCCL call. */
    int ncclVersion();

    /** The version code of the NCCL headers the bindings were compiled against. */
    int ncclHeaderVersion();

    void setDevice(int device);

    /** A fresh 128-byte {@code ncclUniqueId}. */
    byte[] ncclUniqueId();

    /** {@code ncclCommInitRank}: blocks until all {@code size} ranks have called it with the same id. */
    long commInitRank(int size, byte[] uniqueId, int rank);

    /** The communicator's asynchronous error code ({@link #NCCL_SUCCESS} while healthy). */
    int commAsyncError(long comm);

    /** NCCL's name for a result code, and the last error message NCCL logged for {@code comm}. */
    String ncclErrorString(int code, long comm);

    void commAbort(long comm);

    void commDestroy(long comm);

    long createNonBlockingStream();

    void destroyStream(long stream);

    long createEvent();

    void destroyEvent(long event);

    void recordEvent(long event, long stream);

    void streamWaitEvent(long stream, long event);

    /** True once all work before the event's record point is done. */
    boolean eventDone(long event);

    void synchronize(long stream);

    long malloc(long bytes);

    void free(long devicePointer);

    /** Enqueues a copy of {@code bytes} from the buffer's position to device memory on {@code stream}. */
    void copyToDevice(long devicePointer, ByteBuffer host, long bytes, long stream);

    /** Copies {@code bytes} of device memory to the buffer's position, synchronously. */
    void copyToHost(ByteBuffer host, long devicePointer, long bytes);

    void allReduce(long send, long recv, long count, DataType type, ReduceOp op, long comm, long stream);

    void broadcast(long send, long recv, long count, DataType type, int root, long comm, long stream);

    void allGather(long send, long recv, long sendCount, DataType type, long comm, long stream);

    void reduceScatter(long send, long recv, long recvCount, DataType type, ReduceOp op, long comm, long stream);
}
