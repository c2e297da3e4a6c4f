package dev.trainyard.collectives.grpc;

import com.google.protobuf.Empty;
import dev.trainyard.collectives.Fingerprint;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * Everything this rank has with one peer: the long-lived outbound stream (we send on it), the
 * inbox fed by the peer's stream to us, and the queue of frames waiting for send window.
 * The send queue and outbound frame are touched only by the collective thread.
 */
final class PeerLink {
    final int peer;
    private String address;
    private ManagedChannel channel;
    private final LinkEvents events;
    private final OutboundFrame frame;
    final ArrayDeque<SendItem> sendQueue = new ArrayDeque<>();
    private final ArrayBlockingQueue<InboundFrame> inbox;
    private ClientCall<Frame, Empty> out;
    private volatile ServerCall<Frame, Empty> inbound;
    /** Why the peer's stream to us ended; null while open. */
    private volatile String inboundClosed;
    private volatile boolean peerClosedGracefully;
    /** Why our stream to the peer ended; null while open. */
    private volatile String outboundClosed;
    private volatile boolean closing;

    /** Created before the server starts, so a peer's stream can arrive before we connect back. */
    PeerLink(int peer, LinkEvents events, byte[] sendScratch, int window) {
        this.peer = peer;
        this.events = events;
        this.frame = new OutboundFrame(sendScratch);
        this.inbox = new ArrayBlockingQueue<>(window + 1);
    }

    /** Opens the outbound stream; becomes {@link #ready()} once the transport has it. */
    void open(String address, ManagedChannel channel, MethodDescriptor<Frame, Empty> method, CallOptions options, Metadata headers) {
        this.address = address;
        this.channel = channel;
        out = channel.newCall(method, options);
        out.start(new ClientCall.Listener<>() {
            @Override
            public void onReady() {
                events.wake();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                outboundClosed = peerClosedGracefully ? "rank " + peer + " closed its communicator"
                        : "the stream to rank " + peer + " ended: " + status.getCode();
                if (!status.isOk() && !closing && !peerClosedGracefully) {
                    events.linkBroken(peer, "the connection to rank " + peer + " at " + address + " failed: "
                            + status.getCode() + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"),
                            status.getCause());
                }
                events.wake();
            }
        }, headers);
        out.request(1);
    }

    boolean ready() {
        return out.isReady();
    }

    String address() {
        return address;
    }

    ManagedChannel channel() {
        return channel;
    }

    /** Serializes one frame now; only call when {@link #ready()}. */
    void sendNow(Fingerprint fp, SendItem it) {
        out.sendMessage(frame.set(fp, it.step, it.chunkOffset, it.src, it.offset, it.length));
    }

    /** The peer opened its stream to us. Returns false if one is already open (a duplicate). */
    synchronized boolean attachInbound(ServerCall<Frame, Empty> call) {
        if (inbound != null) {
            return false;
        }
        inbound = call;
        return true;
    }

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

    /** Lets the peer send one more frame (manual flow control). */
    void grantOne() {
        ServerCall<Frame, Empty> c = inbound;
        if (c != null) {
            c.request(1);
        }
    }

    void inboundEnded(String reason, boolean graceful) {
        if (graceful) {
            peerClosedGracefully = true;
        }
        inboundClosed = reason;
        if (!graceful && !closing) {
            events.linkBroken(peer, reason, null);
        }
        events.wake();
    }

    /** Null while we can still send to the peer, else why not. */
    String outboundClosed() {
        return outboundClosed;
    }

    /** Null while the peer can still send to us, else why not. */
    String inboundClosed() {
        return inboundClosed;
    }

    /** Ends our stream to the peer after everything queued was sent. */
    void halfClose() {
        closing = true;
        if (out != null) {
            out.halfClose();
        }
    }

    void markClosing() {
        closing = true;
    }
}
