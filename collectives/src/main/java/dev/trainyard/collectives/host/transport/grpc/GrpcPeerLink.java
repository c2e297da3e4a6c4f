package dev.trainyard.collectives.host.transport.grpc;

import com.google.protobuf.Empty;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.host.transport.Frame;
import dev.trainyard.collectives.host.transport.LinkEvents;
import dev.trainyard.collectives.host.transport.OutboundFrame;
import dev.trainyard.collectives.host.transport.PeerLink;
import dev.trainyard.collectives.host.transport.SendItem;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.Status;

/**
 * A peer link over gRPC: we send on a long-lived client stream of {@code trainyard.DataPlane/Stream};
 * the peer's stream to us is attached by {@link DataPlane}'s handler. {@code sendMessage}
 * serializes synchronously, so a frame has left the caller's buffer when it returns.
 */
public final class GrpcPeerLink extends PeerLink {
    private final OutboundFrame frame;
    private String address;
    private ClientCall<Frame, Empty> out;
    private volatile ServerCall<Frame, Empty> inbound;

    public GrpcPeerLink(int peer, LinkEvents events, byte[] sendScratch, int window) {
        super(peer, events, window);
        this.frame = new OutboundFrame(sendScratch);
    }

    /** Opens the outbound stream; becomes {@link #ready()} once the transport has it. */
    public void open(String address, ManagedChannel channel, MethodDescriptor<Frame, Empty> method, CallOptions options, Metadata headers) {
        this.address = address;
        out = channel.newCall(method, options);
        out.start(new ClientCall.Listener<>() {
            @Override
            public void onReady() {
                events.wake();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                outboundEnded("the stream to rank " + peer + " at " + address + " ended: " + status.getCode()
                        + (status.getDescription() == null ? "" : " (" + status.getDescription() + ")"), !status.isOk(), status.getCause());
            }
        }, headers);
        out.request(1);
    }

    @Override
    public boolean ready() {
        return out != null && out.isReady();
    }

    @Override
    public void sendNow(Fingerprint fp, SendItem it) {
        out.sendMessage(frame.set(fp, it.step, it.chunkOffset, it.src, it.offset, it.length));
    }

    @Override
    public boolean drained() {
        return true;
    }

    /** The peer opened its stream to us. Returns false if one is already open (a duplicate). */
    synchronized boolean attachInbound(ServerCall<Frame, Empty> call) {
        if (inbound != null) {
            return false;
        }
        inbound = call;
        return true;
    }

    @Override
    public void grantOne() {
        ServerCall<Frame, Empty> c = inbound;
        if (c != null) {
            c.request(1);
        }
    }

    @Override
    public void halfClose() {
        closing = true;
        if (out != null) {
            out.halfClose();
        }
    }

    @Override
    public void closeNow() {
        closing = true;
        if (out != null) {
            out.cancel("communicator closed", null);
        }
    }

    @Override
    public String address() {
        return address;
    }
}
