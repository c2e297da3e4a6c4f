package dev.trainyard.collectives.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.BytesMarshaller;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.ServerCalls;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * gRPC calls prove the job token without carrying it: a real server behind the token interceptor,
 * a sniffer in front of it that keeps every header it receives. The headers hold no token, and
 * each one replayed (as is, against another method, or late) is refused.
 */
class CallProofTest {
    private final JobToken token = JobToken.generate();

    private static MethodDescriptor<byte[], byte[]> method(String name) {
        return MethodDescriptor.<byte[], byte[]>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Echo", name))
                .setRequestMarshaller(new BytesMarshaller()).setResponseMarshaller(new BytesMarshaller()).build();
    }

    @Test
    void headersHoldNoTokenAndCannotBeReplayed() throws Exception {
        MethodDescriptor<byte[], byte[]> echo = method("Echo");
        MethodDescriptor<byte[], byte[]> other = method("Other");
        ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
                .addMethod(echo, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext(req);
                    out.onCompleted();
                }))
                .addMethod(other, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext(req);
                    out.onCompleted();
                })).build();
        List<String> sniffed = new CopyOnWriteArrayList<>();
        ServerInterceptor sniffer = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                sniffed.add(headers.get(JobToken.HEADER));
                return next.startCall(call, headers);
            }
        };
        // the last interceptor runs first: the sniffer sees every call before the token check
        Server server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(ServerInterceptors.intercept(service, token.serverInterceptor("test"), sniffer)).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
        try {
            CallOptions withToken = CallOptions.DEFAULT.withCallCredentials(token.callCredentials()).withDeadlineAfter(10, TimeUnit.SECONDS);
            for (int i = 0; i < 3; i++) {
                assertEquals(1, ClientCalls.blockingUnaryCall(channel, echo, withToken, new byte[] {1}).length);
            }
            assertEquals(3, sniffed.size());
            assertEquals(3, sniffed.stream().distinct().count(), "a fresh proof per call");
            sniffed.forEach(h -> assertFalse(h.contains(token.value()), "the header holds no token: " + h));

            String recorded = sniffed.get(0);
            assertRefused(channel, echo, recorded, "a replayed call (its proof was used before)");
            assertRefused(channel, other, recorded, "a wrong job token (its proof does not verify)");
            String late = CallProof.create(token, echo.getFullMethodName(), System.currentTimeMillis() - Duration.ofMinutes(10).toMillis());
            assertRefused(channel, echo, late, "outside the 5-minute window");
            assertRefused(channel, echo, CallProof.create(JobToken.generate(), echo.getFullMethodName(), System.currentTimeMillis()),
                    "a wrong job token");
            assertRefused(channel, echo, null, "no proof of the job token");
        } finally {
            channel.shutdownNow();
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void aProofVerifiesOnceWithinTheWindow() {
        CallProof proofs = new CallProof(token);
        long now = System.currentTimeMillis();
        String h = CallProof.create(token, "m", now);
        assertNull(proofs.refusal(h, "m", now + 1000));
        assertEquals("a replayed call (its proof was used before)", proofs.refusal(h, "m", now + 2000));
        assertNull(proofs.refusal(CallProof.create(token, "m", now + 4 * 60_000), "m", now), "clocks 4 minutes apart still agree");
        assertTrue(proofs.refusal("v1.x.y.z", "m", now).contains("malformed"));
    }

    private static void assertRefused(ManagedChannel channel, MethodDescriptor<byte[], byte[]> m, String header, String why) {
        Metadata md = new Metadata();
        if (header != null) {
            md.put(JobToken.HEADER, header);
        }
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                channel.newCall(m, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS)), new byte[] {1}));
        // the raw call above carries no header: send the recorded one through an attaching interceptor instead
        if (header != null) {
            e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                    io.grpc.ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(md)), m,
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[] {1}));
        }
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.toString());
        assertTrue(e.getStatus().getDescription().contains(why), e.getStatus().getDescription());
    }
}
