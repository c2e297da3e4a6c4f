package dev.trainyard.collectives.nccl;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.CollectiveTimeoutException;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.HostBuffers;
import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * {@link Communicator} over NCCL, one rank per GPU. Rank 0 creates the unique id and shares it
 * through the rendezvous store; every rank joins with {@code ncclCommInitRank} on its device.
 *
 * <p>Every collective is enqueued on the communicator's own non-blocking stream after an event
 * recorded on the compute stream, so it sees everything backward has queued so far while compute
 * goes on; a second event after it tells when it is done. Host buffers (the {@link Communicator}
 * methods) are staged through one device scratch buffer; device memory ({@link DeviceCollectives})
 * is reduced in place.
 *
 * <p>Threads: callers enqueue under this object's lock. One watchdog thread per communicator
 * completes work in issue order as its events fire, polls {@code ncclCommGetAsyncError}, and
 * enforces the timeout; on an error or a timeout it calls {@code ncclCommAbort} and fails all
 * pending work with a message naming the collective and its fingerprint, so nothing hangs silently.
 */
public final class NcclCommunicator implements Communicator, DeviceCollectives {
    static final String UNIQUE_ID_KEY = "nccl/unique-id";
    private static final long BUSY_POLL_NANOS = 20_000L;
    private static final long ERROR_POLL_NANOS = 100_000_000L;
    private static final long SCRATCH_ROUNDING = 1 << 20;

    private final GpuRuntime gpu;
    private final int rank;
    private final int size;
    private final int device;
    private final Duration timeout;
    private final long comm;
    private final long stream;
    /** Recorded on the compute stream before each collective; the NCCL stream waits on it. */
    private final long computeReady;
    private final ConcurrentLinkedQueue<Long> freeEvents = new ConcurrentLinkedQueue<>();
    private final List<Long> allEvents = new ArrayList<>();
    private final ConcurrentLinkedQueue<InFlight> inFlight = new ConcurrentLinkedQueue<>();
    private final Object failureLock = new Object();
    private final ByteBuffer barrierElement = ByteBuffer.allocateDirect(Integer.BYTES).order(ByteOrder.nativeOrder());
    private final Thread watchdog;
    private long nextSeq;
    private long scratch;
    private long scratchBytes;
    /** The last host-staged work: the scratch buffer is free again once it is done. */
    private Work lastStaged;
    private volatile CollectiveException failure;
    private volatile boolean closed;

    /** One enqueued collective: its work handle, the event after it, when it must be done, and what to do then. */
    private record InFlight(Work.Completion work, long doneEvent, long deadlineNanos, Runnable onDone) {
    }

    @FunctionalInterface
    private interface Enqueue {
        void run();
    }

    @FunctionalInterface
    private interface StagedCall {
        void enqueue(long in, long out);
    }

    private NcclCommunicator(GpuRuntime gpu, int rank, int size, int device, Duration timeout, long comm) {
        this.gpu = gpu;
        this.rank = rank;
        this.size = size;
        this.device = device;
        this.timeout = timeout;
        this.comm = comm;
        this.stream = gpu.createNonBlockingStream();
        this.computeReady = gpu.createEvent();
        this.watchdog = new Thread(this::watch, "trainyard-nccl-watchdog-rank-" + rank);
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /**
     * Joins the NCCL communicator of {@code size} ranks on CUDA device {@code device}; each collective
     * then has {@code timeout} to complete.
     *
     * @throws PeerFailureException naming the ranks that never started NCCL's initialisation within {@code connectTimeout}
     */
    public static NcclCommunicator connect(Store store, int rank, int size, int device, Duration connectTimeout, Duration timeout,
                                           GpuRuntime gpu) {
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " is outside the group of " + size);
        }
        gpu.setDevice(device);
        byte[] id;
        if (rank == 0) {
            id = gpu.ncclUniqueId();
            store.set(UNIQUE_ID_KEY, id);
        } else {
            try {
                id = store.get(UNIQUE_ID_KEY, connectTimeout);
            } catch (StoreTimeoutException e) {
                throw new PeerFailureException("rank " + rank + ": rank 0 did not publish the NCCL unique id within "
                        + connectTimeout.toSeconds() + " s (not started, crashed, or failed before NCCL setup)", List.of(0), e);
            }
        }
        store.set(initKey(rank), new byte[] {1});
        long comm = initRank(store, gpu, rank, size, device, id, connectTimeout);
        try {
            return new NcclCommunicator(gpu, rank, size, device, timeout, comm);
        } catch (RuntimeException e) {
            gpu.commAbort(comm);
            throw e;
        }
    }

    static String initKey(int rank) {
        return "nccl/init/" + rank;
    }

    /** {@code ncclCommInitRank} blocks until every rank calls it: run it aside and give up, naming the absent, after {@code timeout}. */
    private static long initRank(Store store, GpuRuntime gpu, int rank, int size, int device, byte[] id, Duration timeout) {
        CompletableFuture<Long> result = new CompletableFuture<>();
        Thread init = new Thread(() -> {
            try {
                gpu.setDevice(device); // the current device is per thread
                result.complete(gpu.commInitRank(size, id, rank));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, "trainyard-nccl-init-rank-" + rank);
        init.setDaemon(true);
        init.start();
        try {
            return result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            List<Integer> absent = new ArrayList<>();
            for (int p = 0; p < size; p++) {
                if (!store.check(List.of(initKey(p)))) {
                    absent.add(p);
                }
            }
            throw new PeerFailureException("rank " + rank + ": NCCL initialisation did not complete within " + timeout.toSeconds()
                    + " s; " + (absent.isEmpty()
                            ? "every rank started it, so NCCL cannot connect them (set NCCL_SOCKET_IFNAME to the interface the nodes"
                                    + " share; NCCL_DEBUG=INFO shows why)"
                            : "ranks " + absent + " never started it (not started, crashed, or failed earlier)"), absent, null);
        } catch (ExecutionException e) {
            throw new PeerFailureException("rank " + rank + " (GPU " + device + "): " + e.getCause().getMessage(), List.of(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("rank " + rank + ": interrupted during NCCL initialisation");
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int device() {
        return device;
    }

    // ---------------------------------------------------------------- device memory

    @Override
    public Work allReduceAsync(long devicePointer, long count, DataType type, ReduceOp op) {
        requirePointer(devicePointer, "allReduce");
        return issue(CollectiveOp.ALL_REDUCE, op, type, count, -1,
                () -> gpu.allReduce(devicePointer, devicePointer, count, type, op, comm, stream), null);
    }

    @Override
    public Work broadcastAsync(long devicePointer, long count, DataType type, int root) {
        requirePointer(devicePointer, "broadcast");
        requireRoot(root);
        return issue(CollectiveOp.BROADCAST, null, type, count, root,
                () -> gpu.broadcast(devicePointer, devicePointer, count, type, root, comm, stream), null);
    }

    // ---------------------------------------------------------------- host memory, staged

    @Override
    public Work allReduceAsync(ByteBuffer buffer, DataType type, ReduceOp op) {
        ByteBuffer buf = HostBuffers.view(buffer, type, "allReduce");
        long count = buf.limit() / type.bytes();
        return staged(CollectiveOp.ALL_REDUCE, op, type, count, -1, buf, buf,
                (in, out) -> gpu.allReduce(in, out, count, type, op, comm, stream));
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, DataType type, int root) {
        ByteBuffer buf = HostBuffers.view(buffer, type, "broadcast");
        requireRoot(root);
        long count = buf.limit() / type.bytes();
        return staged(CollectiveOp.BROADCAST, null, type, count, root, buf, buf,
                (in, out) -> gpu.broadcast(in, out, count, type, root, comm, stream));
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, DataType type) {
        ByteBuffer in = HostBuffers.view(input, type, "allGather input");
        ByteBuffer out = HostBuffers.view(output, type, "allGather output");
        HostBuffers.requireBlocks("allGather output", out, "input", in, size);
        long count = in.limit() / type.bytes();
        return staged(CollectiveOp.ALL_GATHER, null, type, count, -1, in, out,
                (i, o) -> gpu.allGather(i, o, count, type, comm, stream));
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        ByteBuffer in = HostBuffers.view(input, type, "reduceScatter input");
        ByteBuffer out = HostBuffers.view(output, type, "reduceScatter output");
        HostBuffers.requireBlocks("reduceScatter input", in, "output", out, size);
        long count = out.limit() / type.bytes();
        return staged(CollectiveOp.REDUCE_SCATTER, op, type, in.limit() / type.bytes(), -1, in, out,
                (i, o) -> gpu.reduceScatter(i, o, count, type, op, comm, stream));
    }

    /** NCCL has no barrier: a one-element all-reduce, as PyTorch's NCCL process group does. */
    @Override
    public Work barrierAsync() {
        // staged work runs one at a time (the scratch buffer), so one host element serves every barrier
        return staged(CollectiveOp.BARRIER, null, DataType.INT32, 1, -1, barrierElement, barrierElement,
                (in, out) -> gpu.allReduce(in, out, 1, DataType.INT32, ReduceOp.SUM, comm, stream));
    }

    /** Copies {@code in} to the scratch buffer, runs {@code call} there and copies the result region to {@code out} once done. */
    private synchronized Work staged(CollectiveOp op, ReduceOp reduceOp, DataType type, long count, int root,
                                     ByteBuffer in, ByteBuffer out, StagedCall call) {
        if (lastStaged != null && failure == null) {
            lastStaged.await(); // one scratch buffer; the watchdog's timeout bounds this wait
        }
        long outOffset = in == out ? 0 : in.limit();
        ensureScratch(outOffset + out.limit());
        long inPtr = scratch;
        long outPtr = scratch + outOffset;
        lastStaged = issue(op, reduceOp, type, count, root, () -> {
            gpu.copyToDevice(inPtr, in, in.limit(), stream);
            call.enqueue(inPtr, outPtr);
        }, () -> gpu.copyToHost(out, outPtr, out.limit()));
        return lastStaged;
    }

    private void ensureScratch(long bytes) {
        if (bytes <= scratchBytes) {
            return;
        }
        if (scratch != 0) {
            gpu.synchronize(stream);
            gpu.free(scratch);
            scratch = 0;
        }
        long rounded = (bytes + SCRATCH_ROUNDING - 1) / SCRATCH_ROUNDING * SCRATCH_ROUNDING;
        scratch = gpu.malloc(rounded);
        scratchBytes = rounded;
    }

    // ---------------------------------------------------------------- issue and completion

    private synchronized Work issue(CollectiveOp op, ReduceOp reduceOp, DataType type, long count, int root,
                                    Enqueue enqueue, Runnable onDone) {
        if (closed) {
            throw new IllegalStateException("rank " + rank + ": the NCCL communicator is closed");
        }
        Fingerprint fp = new Fingerprint(nextSeq++, op, reduceOp, type, count, root);
        Work.Completion work = Work.issue(fp);
        if (failure != null) {
            work.fail(failure);
            return work.work();
        }
        Long done = freeEvents.poll();
        try {
            if (done == null) {
                done = gpu.createEvent();
                allEvents.add(done);
            }
            gpu.setDevice(device); // the legacy default stream is the current device's
            gpu.recordEvent(computeReady, GpuRuntime.COMPUTE_STREAM);
            gpu.streamWaitEvent(stream, computeReady);
            enqueue.run();
            gpu.recordEvent(done, stream);
        } catch (RuntimeException e) {
            fail(new CollectiveException(where() + "NCCL " + fp + " could not be enqueued: " + e.getMessage(), List.of(), e));
            work.fail(failure);
            return work.work();
        }
        inFlight.add(new InFlight(work, done, System.nanoTime() + timeout.toNanos(), onDone));
        if (failure != null) {
            // fail() may have drained the list between the check above and the add (it does not hold this lock,
            // so that the watchdog can fail while a caller waits in staged()); the watchdog has stopped, so drain
            // here: fail() sets the failure before draining, so one of the two drains sees this work
            failPending(failure);
        }
        LockSupport.unpark(watchdog);
        return work.work();
    }

    private void watch() {
        long nextErrorCheck = System.nanoTime();
        try {
            gpu.setDevice(device);
            while (failure == null && !(closed && inFlight.isEmpty())) {
                InFlight head = inFlight.peek();
                if (head != null && gpu.eventDone(head.doneEvent())) {
                    // remove this very entry, not "the head": fail() may have drained it since the peek, and a
                    // poll() would then take the next work out of the queue without completing or failing it
                    if (!inFlight.remove(head)) {
                        continue;
                    }
                    if (head.onDone() != null) {
                        head.onDone().run();
                    }
                    freeEvents.add(head.doneEvent());
                    head.work().complete();
                    continue;
                }
                long now = System.nanoTime();
                if (head != null && now - head.deadlineNanos() > 0) {
                    fail(new CollectiveTimeoutException(where() + "NCCL " + head.work().work().fingerprint() + " did not complete within "
                            + timeout.toSeconds() + " s; the NCCL communicator was aborted. A peer is dead, frozen, or issued a"
                            + " different collective (NCCL_DEBUG=WARN shows NCCL's view)", List.of()));
                    return;
                }
                if (now - nextErrorCheck >= 0) {
                    int code = gpu.commAsyncError(comm);
                    if (code != GpuRuntime.NCCL_SUCCESS && code != GpuRuntime.NCCL_IN_PROGRESS) {
                        fail(new CollectiveException(where() + "NCCL reported " + gpu.ncclErrorString(code, comm) + " (code " + code
                                + ")" + (head != null ? " while " + head.work().work().fingerprint() + " was in flight" : "")
                                + "; the NCCL communicator was aborted", List.of(), null));
                        return;
                    }
                    nextErrorCheck = now + ERROR_POLL_NANOS;
                }
                LockSupport.parkNanos(this, head != null ? BUSY_POLL_NANOS : ERROR_POLL_NANOS);
            }
        } catch (RuntimeException e) {
            InFlight head = inFlight.peek();
            fail(new CollectiveException(where() + "the NCCL watchdog failed" + (head != null ? " on " + head.work().work().fingerprint() : "")
                    + ": " + e.getMessage(), List.of(), e));
        }
    }

    /** Poisons the communicator: aborts it in NCCL (which unblocks its kernels) and fails everything pending. */
    private void fail(CollectiveException cause) {
        synchronized (failureLock) {
            if (failure != null) {
                return;
            }
            failure = cause;
            try {
                gpu.commAbort(comm);
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
            }
        }
        failPending(cause);
        LockSupport.unpark(watchdog);
    }

    private void failPending(CollectiveException cause) {
        for (InFlight f; (f = inFlight.poll()) != null; ) {
            f.work().fail(cause);
        }
    }

    private String where() {
        return "rank " + rank + " (GPU " + device + "): ";
    }

    private static void requirePointer(long devicePointer, String what) {
        if (devicePointer == 0) {
            throw new IllegalArgumentException(what + ": the device pointer is null");
        }
    }

    private void requireRoot(int root) {
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("broadcast root " + root + " is outside the group of " + size);
        }
    }

    @Override
    public void abort(String reason) {
        fail(new CommunicatorAbortedException(where() + "communicator aborted: " + reason, List.of(), null));
    }

    /** True once an error, a timeout or {@link #abort} has poisoned the communicator. */
    public boolean failed() {
        return failure != null;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        LockSupport.unpark(watchdog);
        try {
            watchdog.join(timeout.toMillis() + 5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (watchdog.isAlive()) {
            abort("close() timed out waiting for pending work");
        }
        if (failure != null) {
            // after ncclCommAbort the communicator is gone; the stream may still hold the aborted kernels, so the
            // device memory is left to the process's exit rather than risk blocking on it here
            return;
        }
        gpu.commDestroy(comm);
        gpu.synchronize(stream);
        if (scratch != 0) {
            gpu.free(scratch);
        }
        for (long e : allEvents) {
            gpu.destroyEvent(e);
        }
        gpu.destroyEvent(computeReady);
        gpu.destroyStream(stream);
    }
}
