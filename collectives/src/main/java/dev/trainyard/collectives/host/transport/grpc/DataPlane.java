package dev.trainyard.collectives.host.transport.grpc;

import com.google.protobuf.Empty;
import dev.trainyard.collectives.host.transport.Frame;
import dev.trainyard.collectives.host.transport.FramePool;
import dev.trainyard.collectives.host.transport.InboundFrame;
import dev.trainyard.collectives.host.transport.PeerLink;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.util.function.IntFunction;

/**
 * The tensor stream: one long-lived client stream per (sender, receiver) pair carrying
 * {@link Frame}s through {@link FrameMarshaller}. The receiver reads the sender's rank from the
 * call headers and feeds frames into that peer's {@link PeerLink} inbox, asking gRPC for
 * at most {@code window} frames ahead (manual flow control = back-pressure to the sender).
 */
public final class DataPlane {
    static final String SERVICE = "trainyard.DataPlane";
    public static final Metadata.Key<String> SENDER_RANK = Metadata.Key.of("trainyard-rank", Metadata.ASCII_STRING_MARSHALLER);
    public static final Metadata.Key<String> WORLD_SIZE = Metadata.Key.of("trainyard-world-size", Metadata.ASCII_STRING_MARSHALLER);

    private DataPlane() {
    }

    public static MethodDescriptor<Frame, Empty> method(FramePool pool) {
        return MethodDescriptor.<Frame, Empty>newBuilder()
                .setType(MethodDescriptor.MethodType.CLIENT_STREAMING)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Stream"))
                .setRequestMarshaller(new FrameMarshaller(pool))
                .setResponseMarshaller(ProtoUtils.marshaller(Empty.getDefaultInstance()))
                .build();
    }

    /** @param links the link of each peer rank (null for this rank) */
    public static ServerServiceDefinition service(MethodDescriptor<Frame, Empty> method, int size, IntFunction<GrpcPeerLink> links, int window) {
        return ServerServiceDefinition.builder(SERVICE)
                .addMethod(method, new InboundHandler(size, links, window))
                .build();
    }

    private static final class InboundHandler implements ServerCallHandler<Frame, Empty> {
        private final int size;
        private final IntFunction<GrpcPeerLink> links;
        private final int window;

        InboundHandler(int size, IntFunction<GrpcPeerLink> links, int window) {
            this.size = size;
            this.links = links;
            this.window = window;
        }

        @Override
        public ServerCall.Listener<Frame> startCall(ServerCall<Frame, Empty> call, Metadata headers) {
            GrpcPeerLink link = identify(call, headers);
            if (link == null) {
                return new ServerCall.Listener<>() {
                };
            }
            call.request(window);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(Frame message) {
                    link.deliver((InboundFrame) message);
                }

                @Override
                public void onHalfClose() {
                    link.inboundEnded("rank " + link.peer + " closed its communicator", true);
                    call.sendHeaders(new Metadata());
                    call.sendMessage(Empty.getDefaultInstance());
                    call.close(Status.OK, new Metadata());
                }

                @Override
                public void onCancel() {
                    link.inboundEnded("the connection from rank " + link.peer + " was lost (process died, was killed or the network failed)", false);
                }
            };
        }

        private GrpcPeerLink identify(ServerCall<Frame, Empty> call, Metadata headers) {
            String rankText = headers.get(SENDER_RANK);
            String sizeText = headers.get(WORLD_SIZE);
            int rank;
            try {
                rank = Integer.parseInt(rankText);
            } catch (NumberFormatException e) {
                call.close(Status.INVALID_ARGUMENT.withDescription("missing or bad trainyard-rank header"), new Metadata());
                return null;
            }
            if (!String.valueOf(size).equals(sizeText)) {
                call.close(Status.FAILED_PRECONDITION.withDescription("world size mismatch: this group has " + size
                        + " ranks, the caller believes " + sizeText), new Metadata());
                return null;
            }
            GrpcPeerLink link = rank >= 0 && rank < size ? links.apply(rank) : null;
            if (link == null) {
                call.close(Status.INVALID_ARGUMENT.withDescription("rank " + rank + " is not a peer of this group of " + size), new Metadata());
                return null;
            }
            if (!link.attachInbound(call)) {
                call.close(Status.ALREADY_EXISTS.withDescription("rank " + rank + " already has a stream open"), new Metadata());
                return null;
            }
            return link;
        }
    }
}
