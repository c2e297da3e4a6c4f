package dev.trainyard.collectives.nccl;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One rank's fake device layer: streams are single-thread executors that run their work in order
 * (the compute stream included), events are counters completed by the stream they were recorded
 * on, and NCCL calls are enqueued on their stream and rendezvous in a {@link FakeNcclWorld}.
 * Tests inject what a GPU would do wrong: an asynchronous NCCL error, a library that does not load.
 */
class FakeGpu implements GpuRuntime {
    final FakeNcclWorld world;
    final AtomicInteger aborts = new AtomicInteger();
    final AtomicInteger destroys = new AtomicInteger();
    volatile int asyncError = NCCL_SUCCESS;
    volatile int deviceCount = 1;
    volatile int ncclVersion = 22703;
    private final AtomicLong handles = new AtomicLong(1);
    private final Map<Long, ExecutorService> streams = new ConcurrentHashMap<>();
    private final Map<Long, long[]> events = new ConcurrentHashMap<>(); // {recorded, completed}
    private volatile int rank = -1;
    private volatile boolean aborted;
    private long nextSeq;

    FakeGpu(FakeNcclWorld world) {
        this.world = world;
        streams.put(COMPUTE_STREAM, Executors.newSingleThreadExecutor(daemon("fake-compute-stream")));
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Stops every stream's thread: an aborted communicator leaves its streams to the process's exit. */
    void release() {
        streams.values().forEach(ExecutorService::shutdownNow);
    }

    /** Queues {@code kernel} on the compute stream, as a DJL op would. */
    void onComputeStream(Runnable kernel) {
        streams.get(COMPUTE_STREAM).execute(kernel);
    }

    ByteBuffer memory(long address, long bytes) {
        return world.at(address, bytes);
    }

    @Override
    public int deviceCount() {
        return deviceCount;
    }

    @Override
    public int ncclVersion() {
        return ncclVersion;
    }

    @Override
    public int ncclHeaderVersion() {
        return 22703;
    }

    @Override
    public void setDevice(int device) {
        if (device < 0 || device >= deviceCount) {
            throw new GpuCallException("cudaSetDevice(" + device + ")", 101, "invalid device ordinal");
        }
    }

    @Override
    public byte[] ncclUniqueId() {
        byte[] id = new byte[128];
        new Random().nextBytes(id);
        return id;
    }

    @Override
    public long commInitRank(int size, byte[] uniqueId, int rank) {
        this.rank = rank;
        world.awaitInit(uniqueId);
        return handles.getAndIncrement();
    }

    @Override
    public int commAsyncError(long comm) {
        return asyncError;
    }

    @Override
    public String ncclErrorString(int code, long comm) {
        return code == 6 ? "remote process exited or there was a network error" : "error " + code;
    }

    @Override
    public void commAbort(long comm) {
        aborted = true;
        aborts.incrementAndGet();
    }

    @Override
    public void commDestroy(long comm) {
        destroys.incrementAndGet();
    }

    @Override
    public long createNonBlockingStream() {
        long h = handles.getAndIncrement() << 8;
        streams.put(h, Executors.newSingleThreadExecutor(daemon("fake-nccl-stream")));
        return h;
    }

    @Override
    public void destroyStream(long stream) {
        streams.remove(stream).shutdown();
    }

    @Override
    public long createEvent() {
        long h = handles.getAndIncrement() << 8;
        events.put(h, new long[2]);
        return h;
    }

    @Override
    public void destroyEvent(long event) {
        events.remove(event);
    }

    @Override
    public void recordEvent(long event, long stream) {
        long[] e = events.get(event);
        long generation;
        synchronized (e) {
            generation = ++e[0];
        }
        streams.get(stream).execute(() -> {
            synchronized (e) {
                e[1] = Math.max(e[1], generation);
            }
        });
    }

    @Override
    public void streamWaitEvent(long stream, long event) {
        long[] e = events.get(event);
        long target;
        synchronized (e) {
            target = e[0];
        }
        streams.get(stream).execute(() -> {
            while (true) {
                synchronized (e) {
                    if (e[1] >= target) {
                        return;
                    }
                }
                Thread.onSpinWait();
            }
        });
    }

    @Override
    public boolean eventDone(long event) {
        long[] e = events.get(event);
        synchronized (e) {
            return e[1] >= e[0];
        }
    }

    @Override
    public void synchronize(long stream) {
        try {
            streams.get(stream).submit(() -> { }).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public long malloc(long bytes) {
        return world.malloc(bytes);
    }

    @Override
    public void free(long devicePointer) {
        world.free(devicePointer);
    }

    @Override
    public void copyToDevice(long devicePointer, ByteBuffer host, long bytes, long stream) {
        ByteBuffer src = host.slice(host.position(), (int) bytes);
        streams.get(stream).execute(() -> world.at(devicePointer, bytes).put(src));
    }

    @Override
    public void copyToHost(ByteBuffer host, long devicePointer, long bytes) {
        host.slice(host.position(), (int) bytes).put(world.at(devicePointer, bytes));
    }

    private void enqueue(String kind, long send, long recv, long count, DataType type, ReduceOp op, int root, long stream) {
        long seq = nextSeq++;
        int r = rank;
        streams.get(stream).execute(() -> world.collective(seq, r, kind, send, recv, count, type, op, root, () -> aborted));
    }

    @Override
    public void allReduce(long send, long recv, long count, DataType type, ReduceOp op, long comm, long stream) {
        enqueue("allReduce", send, recv, count, type, op, -1, stream);
    }

    @Override
    public void broadcast(long send, long recv, long count, DataType type, int root, long comm, long stream) {
        enqueue("broadcast", send, recv, count, type, null, root, stream);
    }

    @Override
    public void allGather(long send, long recv, long sendCount, DataType type, long comm, long stream) {
        enqueue("allGather", send, recv, sendCount, type, null, -1, stream);
    }

    @Override
    public void reduceScatter(long send, long recv, long recvCount, DataType type, ReduceOp op, long comm, long stream) {
        enqueue("reduceScatter", send, recv, recvCount, type, op, -1, stream);
    }
}
