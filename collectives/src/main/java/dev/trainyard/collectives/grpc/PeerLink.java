package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.Fingerprint;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Everything this rank has with one peer, whatever carries the bytes: the queue of frames waiting
 * for send window (touched only by the collective thread), the inbox the peer's frames arrive in,
 * and why either direction ended. Subclasses move the frames: {@link GrpcPeerLink} as messages of a
 * gRPC stream, {@link TcpPeerLink} on a raw TCP connection.
 */
abstract class PeerLink {
    final int peer;
    final LinkEvents events;
    final ArrayDeque<SendItem> sendQueue = new ArrayDeque<>();
    private final ArrayBlockingQueue<InboundFrame> inbox;
    /** Why the peer's direction to us ended; null while open. */
    private volatile String inboundClosed;
    volatile boolean peerClosedGracefully;
    /** Why our direction to the peer ended; null while open. */
    volatile String outboundClosed;
    volatile boolean closing;

    /** Created before the listeners start, so a peer's connection can arrive before we connect back. */
    PeerLink(int peer, LinkEvents events, int window) {
        this.peer = peer;
        this.events = events;
        this.inbox = new ArrayBlockingQueue<>(window + 1);
    }

    /** True when frames arrive without anyone waking the collective thread, so waiting must poll. */
    boolean polled() {
        return false;
    }

    /**
     * For a polled link: raises its sleep flags, so the peer wakes this rank when it sends a frame
     * or frees a slot; false if there is something to do already (then do not sleep).
     */
    boolean prepareToSleep() {
        return true;
    }

    /** Lowers the flags {@link #prepareToSleep} raised. */
    void awake() {
    }

    /** True when a frame can be handed over without blocking. */
    abstract boolean ready();

    /** Hands one frame over; only call when {@link #ready()}. */
    abstract void sendNow(Fingerprint fp, SendItem it);

    /** True when every frame handed over has left the caller's buffer (so the caller may reuse it). */
    abstract boolean drained();

    /** Lets the peer send one more frame (the receive window). */
    abstract void grantOne();

    /** Ends our direction after everything handed over was sent; the peer sees a graceful close. */
    abstract void halfClose();

    /** Drops the connection now. */
    abstract void closeNow();

    /**
     * After a failure: returns once no thread of this link will read a caller's buffer again.
     * Transports that copy on the collective thread (gRPC streams serialize in {@code sendNow},
     * shared memory copies into the ring) are done already; TCP's writer thread may still be in a
     * write from it. Returns true if it had to drop the connection for that.
     */
    boolean letGoOfCallerBuffers(long deadlineNanos) {
        return false;
    }

    /** Frames handed to a thread of this link that still reads a caller's buffer (0 where none does). */
    int framesReadingCallerBuffers() {
        return 0;
    }

    abstract String address();

    void deliver(InboundFrame f) {
        f.origin = this;
        if (!inbox.offer(f)) { // cannot happen under flow control; fail loudly rather than drop data
            f.clear();
            inboundEnded("rank " + peer + " sent more frames than the receive window allows", false);
            return;
        }
        events.wake();
    }

    InboundFrame poll() {
        return inbox.poll();
    }

    /** Releases frames nobody will read (after a failure or at close). */
    void drainInbox() {
        for (InboundFrame f; (f = inbox.poll()) != null; ) {
            f.clear();
        }
    }

    void inboundEnded(String reason, boolean graceful) {
        if (graceful) {
            peerClosedGracefully = true;
        }
        // the communicator's failure first: a collective thread polling shared memory may see the
        // closed direction at once, and must report the peer's loss, not a bare receive error
        if (!graceful && !closing) {
            events.linkBroken(peer, reason, null);
        }
        inboundClosed = reason;
        events.wake();
    }

    void outboundEnded(String reason, boolean failed, Throwable cause) {
        outboundClosed = peerClosedGracefully ? "rank " + peer + " closed its communicator" : reason;
        if (failed && !closing && !peerClosedGracefully) {
            events.linkBroken(peer, reason, cause);
        }
        events.wake();
    }

    /** Null while the peer can still send to us, else why not. */
    String inboundClosed() {
        return inboundClosed;
    }

    /** Null while we can still send to the peer, else why not. */
    String outboundClosed() {
        return outboundClosed;
    }
}
