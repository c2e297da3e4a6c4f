package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.Fingerprint;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Everything this rank has with one peer, whatever carries the bytes: the queue of frames waiting
 * for send window (touched only by the collective thread), the inbox the peer's frames arrive in,
 * and why either direction ended. Subclasses move the frames: {@link dev.trainyard.collectives.host.transport.grpc.GrpcPeerLink} as messages of a
 * gRPC stream, {@link dev.trainyard.collectives.host.transport.tcp.TcpPeerLink} on a raw TCP connection.
 */
public abstract class PeerLink {
    public final int peer;
    protected final LinkEvents events;
    protected final ArrayDeque<SendItem> sendQueue = new ArrayDeque<>();
    private final ArrayBlockingQueue<InboundFrame> inbox;
    /** Why the peer's direction to us ended; null while open. */
    private volatile String inboundClosed;
    volatile boolean peerClosedGracefully;
    /** Why our direction to the peer ended; null while open. */
    protected volatile String outboundClosed;
    protected volatile boolean closing;

    /** Created before the listeners start, so a peer's connection can arrive before we connect back. */
    public PeerLink(int peer, LinkEvents events, int window) {
        this.peer = peer;
        this.events = events;
        this.inbox = new ArrayBlockingQueue<>(window + 1);
    }

    /** True when frames arrive without anyone waking the collective thread, so waiting must poll. */
    public boolean polled() {
        return false;
    }

    /**
     * For a polled link: raises its sleep flags, so the peer wakes this rank when it sends a frame
     * or frees a slot; false if there is something to do already (then do not sleep).
     */
    public boolean prepareToSleep() {
        return true;
    }

    /** Lowers the flags {@link #prepareToSleep} raised. */
    public void awake() {
    }

    /** True when a frame can be handed over without blocking. */
    public abstract boolean ready();

    /** Hands one frame over; only call when {@link #ready()}. */
    public abstract void sendNow(Fingerprint fp, SendItem it);

    /** True when every frame handed over has left the caller's buffer (so the caller may reuse it). */
    public abstract boolean drained();

    /** Lets the peer send one more frame (the receive window). */
    public abstract void grantOne();

    /** Ends our direction after everything handed over was sent; the peer sees a graceful close. */
    public abstract void halfClose();

    /** Drops the connection now. */
    public abstract void closeNow();

    /**
     * After a failure: returns once no thread of this link will read a caller's buffer again.
     * Transports that copy on the collective thread (gRPC streams serialize in {@code sendNow},
     * shared memory copies into the ring) are done already; TCP's writer thread may still be in a
     * write from it. Returns true if it had to drop the connection for that.
     */
    public boolean letGoOfCallerBuffers(long deadlineNanos) {
        return false;
    }

    /** Frames handed to a thread of this link that still reads a caller's buffer (0 where none does). */
    public int framesReadingCallerBuffers() {
        return 0;
    }

    public abstract String address();

    public void deliver(InboundFrame f) {
        f.origin = this;
        if (!inbox.offer(f)) { // cannot happen under flow control; fail loudly rather than drop data
            f.clear();
            inboundEnded("rank " + peer + " sent more frames than the receive window allows", false);
            return;
        }
        events.wake();
    }

    public InboundFrame poll() {
        return inbox.poll();
    }

    /** Releases frames nobody will read (after a failure or at close). */
    public void drainInbox() {
        for (InboundFrame f; (f = inbox.poll()) != null; ) {
            f.clear();
        }
    }

    public void inboundEnded(String reason, boolean graceful) {
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

    public void outboundEnded(String reason, boolean failed, Throwable cause) {
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
    public String outboundClosed() {
        return outboundClosed;
    }
}
