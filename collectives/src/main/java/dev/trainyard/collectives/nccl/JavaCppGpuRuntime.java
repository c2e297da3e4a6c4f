package dev.trainyard.collectives.nccl;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;

/**
 * {@link GpuRuntime} through JavaCPP's {@code org.bytedeco:cuda} presets (CUDA 12.9 / NCCL 2.27
 * headers). The only class that touches those bindings: loading them needs the NVIDIA driver
 * ({@code libcuda.so.1}), the CUDA 12 runtime and, for NCCL, the host's {@code libnccl.so.2};
 * {@link NcclProbe} loads them step by step so a failure names the missing piece.
 */
final class JavaCppGpuRuntime implements GpuRuntime {
    private static final int UNIQUE_ID_BYTES = 128;

    private JavaCppGpuRuntime() {
    }

    /** Loads the CUDA runtime bindings; throws (an {@link UnsatisfiedLinkError} or worse) where they cannot load. */
    static GpuRuntime loadCudaRuntime() {
        Loader.load(cudart.class);
        return new JavaCppGpuRuntime();
    }

    /** An address as a JavaCPP pointer, for handles and device memory Java never dereferences. */
    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }

    private static void cuda(String call, int code) {
        if (code != cudart.cudaSuccess) {
            throw new GpuCallException(call, code, cudart.cudaGetErrorString(code).getString());
        }
    }

    private static void nccl(String call, int code) {
        if (code != nccl.ncclSuccess && code != nccl.ncclInProgress) {
            throw new GpuCallException(call, code, nccl.ncclGetErrorString(code).getString());
        }
    }

    private static ncclComm comm(long handle) {
        return new ncclComm(new Address(handle));
    }

    private static CUstream_st stream(long handle) {
        return new CUstream_st(new Address(handle));
    }

    private static CUevent_st event(long handle) {
        return new CUevent_st(new Address(handle));
    }

    @Override
    public int deviceCount() {
        int[] n = new int[1];
        cuda("cudaGetDeviceCount", cudart.cudaGetDeviceCount(n));
        return n[0];
    }

    @Override
    public int ncclVersion() {
        Loader.load(nccl.class); // libnccl.so.2 from the host; throws here if it is missing
        int[] v = new int[1];
        nccl("ncclGetVersion", nccl.ncclGetVersion(v));
        return v[0];
    }

    @Override
    public int ncclHeaderVersion() {
        return nccl.NCCL_VERSION_CODE;
    }

    @Override
    public void setDevice(int device) {
        cuda("cudaSetDevice(" + device + ")", cudart.cudaSetDevice(device));
    }

    @Override
    public byte[] ncclUniqueId() {
        ncclUniqueId id = new ncclUniqueId();
        nccl("ncclGetUniqueId", nccl.ncclGetUniqueId(id));
        byte[] bytes = new byte[UNIQUE_ID_BYTES];
        new BytePointer(id).capacity(UNIQUE_ID_BYTES).get(bytes);
        return bytes;
    }

    @Override
    public long commInitRank(int size, byte[] uniqueId, int rank) {
        if (uniqueId.length != UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + UNIQUE_ID_BYTES + " bytes, got " + uniqueId.length);
        }
        ncclUniqueId id = new ncclUniqueId();
        new BytePointer(id).capacity(UNIQUE_ID_BYTES).put(uniqueId);
        ncclComm comm = new ncclComm();
        nccl("ncclCommInitRank(rank " + rank + " of " + size + ")", nccl.ncclCommInitRank(comm, size, id, rank));
        return comm.address();
    }

    @Override
    public int commAsyncError(long comm) {
        int[] result = new int[1];
        nccl("ncclCommGetAsyncError", nccl.ncclCommGetAsyncError(comm(comm), result));
        return result[0];
    }

    @Override
    public String ncclErrorString(int code, long comm) {
        String name = nccl.ncclGetErrorString(code).getString();
        BytePointer last = comm == 0 ? null : nccl.ncclGetLastError(comm(comm));
        return last == null || last.isNull() || last.getString().isBlank() ? name : name + ": " + last.getString();
    }

    @Override
    public void commAbort(long comm) {
        nccl("ncclCommAbort", nccl.ncclCommAbort(comm(comm)));
    }

    @Override
    public void commDestroy(long comm) {
        nccl("ncclCommDestroy", nccl.ncclCommDestroy(comm(comm)));
    }

    @Override
    public long createNonBlockingStream() {
        CUstream_st s = new CUstream_st();
        cuda("cudaStreamCreateWithFlags", cudart.cudaStreamCreateWithFlags(s, cudart.cudaStreamNonBlocking));
        return s.address();
    }

    @Override
    public void destroyStream(long stream) {
        cuda("cudaStreamDestroy", cudart.cudaStreamDestroy(stream(stream)));
    }

    @Override
    public long createEvent() {
        CUevent_st e = new CUevent_st();
        cuda("cudaEventCreateWithFlags", cudart.cudaEventCreateWithFlags(e, cudart.cudaEventDisableTiming));
        return e.address();
    }

    @Override
    public void destroyEvent(long event) {
        cuda("cudaEventDestroy", cudart.cudaEventDestroy(event(event)));
    }

    @Override
    public void recordEvent(long event, long stream) {
        cuda("cudaEventRecord", cudart.cudaEventRecord(event(event), stream(stream)));
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        cuda("cudaStreamWaitEvent", cudart.cudaStreamWaitEvent(stream(stream), event(event), 0));
    }

    @Override
    public boolean eventDone(long event) {
        int code = cudart.cudaEventQuery(event(event));
        if (code == cudart.cudaErrorNotReady) {
            return false;
        }
        cuda("cudaEventQuery", code);
        return true;
    }

    @Override
    public void synchronize(long stream) {
        cuda("cudaStreamSynchronize", cudart.cudaStreamSynchronize(stream(stream)));
    }

    @Override
    public long malloc(long bytes) {
        Pointer p = new Pointer();
        cuda("cudaMalloc(" + bytes + " bytes)", cudart.cudaMalloc(p, bytes));
        return p.address();
    }

    @Override
    public void free(long devicePointer) {
        cuda("cudaFree", cudart.cudaFree(new Address(devicePointer)));
    }

    @Override
    public void copyToDevice(long devicePointer, ByteBuffer host, long bytes, long stream) {
        cuda("cudaMemcpyAsync(host to device)", cudart.cudaMemcpyAsync(new Address(devicePointer), new BytePointer(host),
                bytes, cudart.cudaMemcpyHostToDevice, stream(stream)));
    }

    @Override
    public void copyToHost(ByteBuffer host, long devicePointer, long bytes) {
        cuda("cudaMemcpy(device to host)", cudart.cudaMemcpy(new BytePointer(host), new Address(devicePointer),
                bytes, cudart.cudaMemcpyDeviceToHost));
    }

    @Override
    public void allReduce(long send, long recv, long count, DataType type, ReduceOp op, long comm, long stream) {
        nccl("ncclAllReduce", nccl.ncclAllReduce(new Address(send), new Address(recv), count, ncclType(type), ncclOp(op),
                comm(comm), stream(stream)));
    }

    @Override
    public void broadcast(long send, long recv, long count, DataType type, int root, long comm, long stream) {
        nccl("ncclBroadcast", nccl.ncclBroadcast(new Address(send), new Address(recv), count, ncclType(type), root,
                comm(comm), stream(stream)));
    }

    @Override
    public void allGather(long send, long recv, long sendCount, DataType type, long comm, long stream) {
        nccl("ncclAllGather", nccl.ncclAllGather(new Address(send), new Address(recv), sendCount, ncclType(type),
                comm(comm), stream(stream)));
    }

    @Override
    public void reduceScatter(long send, long recv, long recvCount, DataType type, ReduceOp op, long comm, long stream) {
        nccl("ncclReduceScatter", nccl.ncclReduceScatter(new Address(send), new Address(recv), recvCount, ncclType(type),
                ncclOp(op), comm(comm), stream(stream)));
    }

    static int ncclType(DataType type) {
        return switch (type) {
            case FLOAT32 -> nccl.ncclFloat32;
            case FLOAT64 -> nccl.ncclFloat64;
            case INT32 -> nccl.ncclInt32;
            case INT64 -> nccl.ncclInt64;
            case FLOAT16 -> nccl.ncclFloat16;
            case BFLOAT16 -> nccl.ncclBfloat16;
        };
    }

    static int ncclOp(ReduceOp op) {
        return switch (op) {
            case SUM -> nccl.ncclSum;
            case AVG -> nccl.ncclAvg;
            case MIN -> nccl.ncclMin;
            case MAX -> nccl.ncclMax;
            case PRODUCT -> nccl.ncclProd;
        };
    }
}
