package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.FingerprintMismatchException;
import dev.trainyard.collectives.PeerFailureException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The point-to-point layer algorithms are written against: queue frames to peers and take
 * frames from peers, for one collective at a time, on the communicator's collective thread.
 *
 * <p>Sends never block: frames wait in per-peer queues and go out whenever gRPC reports send
 * window. Every wait (for a frame, or for the queues to drain) keeps pumping those queues, so
 * two ranks sending to each other can never deadlock on flow control. Waits park the thread
 * until a gRPC callback wakes it, and end with an error on the deadline or on any failure.
 * Every received frame is checked against this collective's fingerprint.
 */
public final class Exchange {
    private static final long MAX_PARK_NANOS = 100_000_000L; // safety net only; callbacks unpark us
    /*
     * Waiting on shared memory (measured with training workers on 2 cores): a short spin covers a
     * peer that is mid-copy; spinning longer holds a core the peer's compute needs. With a core per
     * rank, yielding before sleeping measured best (2 workers: 42,100-43,900 samples/s with 1,000
     * yields against 30,600-33,500 sleeping at once); with more ranks than cores every yielding
     * thread takes turns from a rank that still computes, and sleeping at once measured best
     * (4 workers: 30,400-32,100 against 26,800-27,500 with 1,000 yields).
     */
    public static final int SPIN_ROUNDS = 50;
    public static final int YIELD_ROUNDS = 1000;
    public static final long SLEEP_CAP_NANOS = 10_000_000L;
    /** How long a writer may take to finish frames a live peer still reads, after a failure. */
    private static final long LET_GO_NANOS = 1_000_000_000L;

    private final int rank;
    private final int size;
    private final int chunkBytes;
    private final PeerLink[] links;
    private final FramePool pool;
    private final CollectiveContext context;
    private final ArrayDeque<SendItem> freeItems = new ArrayDeque<>();
    private ByteBuffer scratch = ByteBuffer.allocateDirect(0);
    private Fingerprint fp;
    private long deadline;
    /** Some link of this collective is polled (shared memory): waits spin, then yield, then sleep until the peer rings. */
    private boolean polling;
    private int idleRounds;
    private int yieldRounds = YIELD_ROUNDS;

    public Exchange(int rank, int size, int chunkBytes, PeerLink[] links, FramePool pool, CollectiveContext context) {
        this.rank = rank;
        this.size = size;
        this.chunkBytes = chunkBytes;
        this.links = links;
        this.pool = pool;
        this.context = context;
    }

    public void begin(Fingerprint fingerprint, long deadlineNanos) {
        this.fp = fingerprint;
        this.deadline = deadlineNanos;
        polling = false;
        for (PeerLink link : links) {
            polling |= link != null && link.polled();
        }
        idleRounds = 0;
    }

    /** More ranks on this host than cores: waits sleep right after the spin instead of yielding first. */
    public void oversubscribed(boolean yes) {
        yieldRounds = yes ? 0 : YIELD_ROUNDS;
    }

    public Fingerprint fingerprint() {
        return fp;
    }

    public long deadline() {
        return deadline;
    }

    public CollectiveContext context() {
        return context;
    }

    public FingerprintMismatchException mismatch(int peer, Fingerprint theirs) {
        return new FingerprintMismatchException("collective mismatch: rank " + rank + " issued " + fp + " but rank "
                + peer + " issued " + theirs + "; every rank must call the same collectives in the same order"
                + " with the same type, count, op and root", List.of(rank, peer));
    }

    public int rank() {
        return rank;
    }

    public int size() {
        return size;
    }

    public int chunkBytes() {
        return chunkBytes;
    }

    /** A native-order direct buffer of at least {@code bytes}, reused across collectives (its content is garbage). */
    public ByteBuffer scratch(int bytes) {
        if (scratch.capacity() < bytes) {
            scratch = ByteBuffer.allocateDirect(Math.max(bytes, scratch.capacity() * 2)).order(ByteOrder.nativeOrder());
        }
        return scratch;
    }

    /** Queues {@code src[offset, offset+length)} for {@code peer}; the region must stay untouched until {@link #flush()}. */
    public void send(int peer, ByteBuffer src, int offset, int length, int step, int chunkOffset) {
        links[peer].sendQueue.add(item().set(src, offset, length, step, chunkOffset));
        pump();
    }

    private SendItem item() {
        SendItem it = freeItems.poll();
        return it != null ? it : new SendItem();
    }

    /** Sends whatever the flow-control windows allow, without waiting. */
    private void pump() {
        for (PeerLink link : links) {
            if (link == null || link.sendQueue.isEmpty()) {
                continue;
            }
            String closed = link.outboundClosed();
            if (closed != null) {
                throw new PeerFailureException(fp + " on rank " + rank + " cannot send to rank " + link.peer + ": " + closed,
                        List.of(link.peer), null);
            }
            while (!link.sendQueue.isEmpty() && link.ready()) {
                SendItem it = link.sendQueue.poll();
                link.sendNow(fp, it);
                freeItems.push(it.set(null, 0, 0, 0, 0));
            }
        }
    }

    /**
     * Waits for the next frame from {@code peer} and checks it is step {@code step}, offset
     * {@code chunkOffset}, {@code length} bytes of this collective. Release it when done.
     */
    public InboundFrame receive(int peer, int step, int chunkOffset, int length) {
        PeerLink link = links[peer];
        while (true) {
            CollectiveException failure = context.failure();
            if (failure != null) {
                throw failure;
            }
            pump();
            InboundFrame f = link.poll();
            String closed = f == null ? link.inboundClosed() : null;
            if (closed != null) {
                // the peer's last frames and its goodbye can both land between the poll and the check:
                // a direction ends only after everything before it was delivered, so look once more
                f = link.poll();
            }
            if (f != null) {
                idleRounds = 0;
                check(f, peer, step, chunkOffset, length);
                return f;
            }
            if (closed != null) {
                throw new PeerFailureException(fp + " on rank " + rank + " cannot receive from rank " + peer + ": " + closed,
                        List.of(peer), null);
            }
            park(peer);
        }
    }

    private void check(InboundFrame f, int peer, int step, int chunkOffset, int length) {
        if (!f.belongsTo(fp)) {
            Fingerprint theirs = f.fingerprint();
            release(f);
            throw mismatch(peer, theirs);
        }
        if (f.step() != step || f.chunkOffset() != chunkOffset || f.length() != length) {
            int s = f.step(), o = f.chunkOffset(), l = f.length();
            release(f);
            throw new CollectiveException("protocol error in " + fp + ": rank " + rank + " expected step " + step
                    + " offset " + chunkOffset + " length " + length + " from rank " + peer + " but got step " + s
                    + " offset " + o + " length " + l + " (options such as chunk size must be equal on all ranks)",
                    List.of(peer), null);
        }
    }

    /** Returns a received frame to the pool and lets its sender send one more. */
    public void release(InboundFrame f) {
        PeerLink origin = f.origin;
        pool.give(f);
        if (origin != null) {
            origin.grantOne();
        }
    }

    /** Waits until every queued frame has left the caller's buffers; after this they are the caller's again. */
    public void flush() {
        while (true) {
            pump();
            boolean pending = false;
            int waitingOn = -1;
            for (PeerLink link : links) {
                if (link != null && (!link.sendQueue.isEmpty() || !link.drained())) {
                    pending = true;
                    waitingOn = link.peer;
                    break;
                }
            }
            if (!pending) {
                idleRounds = 0;
                return;
            }
            park(waitingOn);
        }
    }

    private void park(int waitingOn) {
        CollectiveException failure = context.failure();
        if (failure != null) {
            throw failure;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw context.timedOut(fp, waitingOn);
        }
        if (!polling) {
            LockSupport.parkNanos(this, Math.min(left, MAX_PARK_NANOS));
            return;
        }
        // Frames in shared memory arrive without a wake-up: spin while the peer is likely mid-copy,
        // then let other threads run, then sleep until the peer rings (it sees our flags after its
        // next publish or release) or a failure unparks us; the cap only bounds a missed ring.
        int round = idleRounds++;
        if (round < SPIN_ROUNDS) {
            Thread.onSpinWait();
        } else if (round < SPIN_ROUNDS + yieldRounds) {
            Thread.yield();
        } else {
            boolean sleep = true;
            for (PeerLink link : links) {
                if (link != null && link.polled()) {
                    sleep &= link.prepareToSleep();
                }
            }
            if (sleep) {
                LockSupport.parkNanos(this, Math.min(left, SLEEP_CAP_NANOS));
            }
            for (PeerLink link : links) {
                if (link != null && link.polled()) {
                    link.awake();
                }
            }
        }
    }

    /**
     * After a failure, before the work fails: once this returns no thread reads the caller's
     * buffers again (see {@link PeerLink#letGoOfCallerBuffers}); a caller may free them as soon as
     * its {@code Work} fails.
     */
    public void letGoOfCallerBuffers() {
        long deadline = System.nanoTime() + LET_GO_NANOS;
        for (PeerLink link : links) {
            if (link != null) {
                link.letGoOfCallerBuffers(deadline);
            }
        }
    }

    /** Drops queued sends after a failure. */
    public void reset() {
        for (PeerLink link : links) {
            if (link == null) {
                continue;
            }
            for (SendItem it; (it = link.sendQueue.poll()) != null; ) {
                freeItems.push(it.set(null, 0, 0, 0, 0));
            }
        }
    }
}
