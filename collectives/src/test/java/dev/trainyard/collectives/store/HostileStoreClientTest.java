package dev.trainyard.collectives.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.trainyard.collectives.BytesMarshaller;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.proto.AddRequest;
import dev.trainyard.collectives.store.proto.AwaitRequest;
import dev.trainyard.collectives.store.proto.GetRequest;
import dev.trainyard.collectives.store.proto.SetRequest;
import dev.trainyard.collectives.store.proto.StoreGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rendezvous store against a client written to hurt it: raw garbage on its port, frames that
 * are valid gRPC but not valid requests, oversized and out-of-range requests. Each is refused; the
 * server keeps running and its state stays exactly what the legitimate client put there.
 */
class HostileStoreClientTest {
    private final JobToken token = JobToken.generate();
    private StoreServer server;
    private GrpcStore client;
    private ManagedChannel raw;
    private StoreGrpc.StoreBlockingStub stub;

    @BeforeEach
    void start() {
        server = StoreServer.start("127.0.0.1", 0, token, Duration.ofSeconds(30));
        client = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(30));
        raw = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        stub = StoreGrpc.newBlockingStub(raw).withCallCredentials(token.callCredentials()).withDeadlineAfter(10, TimeUnit.SECONDS);
        client.setString("job/state", "running");
        client.add("job/count", 3);
    }

    @AfterEach
    void stop() {
        raw.shutdownNow();
        client.close();
        server.close();
    }

    private void assertStateUntouched() {
        assertEquals("running", client.getString("job/state", Duration.ofSeconds(1)));
        assertEquals(3, client.add("job/count", 0));
        client.setString("job/after", "ok"); // and it still serves
        assertEquals("ok", client.getString("job/after", Duration.ofSeconds(1)));
    }

    @Test
    void garbageOnTheWireIsDroppedAndTheStoreKeepsServing() throws Exception {
        byte[] noise = new byte[64 << 10];
        new SplittableRandom(7).nextBytes(noise);
        byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] hugeFrame = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0, 0x1, 0x0, 0x0, 0x0, 0x1};
        List<byte[]> attacks = List.of(noise, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                concat(preface, hugeFrame), concat(preface, noise), java.util.Arrays.copyOf(preface, 10));
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger.getLogger("").addHandler(capture);
        try {
            for (int round = 0; round < 20; round++) {
                for (byte[] attack : attacks) {
                    try (Socket s = new Socket("127.0.0.1", server.port())) {
                        s.setSoTimeout(10_000);
                        s.getOutputStream().write(attack);
                        s.shutdownOutput();
                        drain(s.getInputStream()); // the server answers or closes; it never hangs the client
                    }
                }
            }
        } finally {
            Logger.getLogger("").removeHandler(capture);
        }
        assertStateUntouched();
        // 100 bad connections: no stack trace each (gRPC's "Transport failed"), at most one line a minute
        assertEquals(0, logged.stream().filter(r -> "Transport failed".equals(r.getMessage())).count());
        assertTrue(logged.stream().filter(r -> String.valueOf(r.getMessage()).contains("it did not speak HTTP/2")).count() <= 1,
                logged.stream().map(LogRecord::getMessage).toList().toString());
    }

    /** A slowloris that trickles HTTP/2's preface holds its connection only for the handshake deadline, not gRPC's default 2 minutes. */
    @Test
    void aConnectionThatNeverFinishesItsHandshakeIsClosedAtTheDeadline() throws Exception {
        byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        long start = System.nanoTime();
        double closedAfter = -1;
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(1000); // one byte a second
            for (int i = 0; i < preface.length - 1 && closedAfter < 0; i++) { // never the last byte
                try {
                    s.getOutputStream().write(preface[i]);
                    long next = System.nanoTime() + 1_000_000_000L;
                    while (System.nanoTime() < next) { // the server's own SETTINGS arrive at once; read until a second passed or EOF
                        if (s.getInputStream().read() < 0) {
                            closedAfter = (System.nanoTime() - start) / 1e9;
                            break;
                        }
                    }
                } catch (java.net.SocketTimeoutException stillOpen) {
                    // nothing more from the server this second: trickle on
                } catch (IOException closed) {
                    closedAfter = (System.nanoTime() - start) / 1e9;
                }
            }
        }
        double bound = dev.trainyard.collectives.GrpcServers.HANDSHAKE_TIMEOUT.toSeconds();
        assertTrue(closedAfter >= bound - 1 && closedAfter < bound + 3, "closed after " + closedAfter + " s (deadline " + bound + " s)");
        assertStateUntouched();
    }

    @Test
    void validFramesCarryingBytesThatAreNoRequestAreRefused() {
        byte[] junk = new byte[300];
        new SplittableRandom(11).nextBytes(junk);
        MethodDescriptor<byte[], byte[]> set = MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(MethodDescriptor.generateFullMethodName("trainyard.store.Store", "Set"))
                .setRequestMarshaller(new BytesMarshaller()).setResponseMarshaller(new BytesMarshaller()).build();
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ClientCalls.blockingUnaryCall(
                raw, set, CallOptions.DEFAULT.withCallCredentials(token.callCredentials()).withDeadlineAfter(10, TimeUnit.SECONDS), junk));
        // grpc-java reports a request that fails to parse as UNKNOWN ("Application error processing RPC")
        assertTrue(List.of(Status.Code.INTERNAL, Status.Code.INVALID_ARGUMENT, Status.Code.UNKNOWN).contains(e.getStatus().getCode()), e.toString());
        assertStateUntouched();
    }

    @Test
    void oversizedAndOutOfRangeRequestsAreRefusedWithoutChangingState() {
        StoreException big = assertThrows(StoreException.class, () -> client.set("job/blob", new byte[5 << 20]));
        assertTrue(big.getMessage().contains("RESOURCE_EXHAUSTED"), big.getMessage());
        assertFalse(client.check(List.of("job/blob")));

        assertInvalid(() -> stub.get(GetRequest.newBuilder().setKey("job/state").setTimeoutMs(-1).build()), "outside 0..");
        assertInvalid(() -> stub.await(AwaitRequest.newBuilder().addKeys("job/x").setTimeoutMs(Long.MAX_VALUE).build()), "outside 0..");
        assertInvalid(() -> stub.set(SetRequest.newBuilder().setKey("").setValue(ByteString.copyFromUtf8("x")).build()), "1..1024 characters");
        assertInvalid(() -> stub.set(SetRequest.newBuilder().setKey("k".repeat(5000)).build()), "got 5000");
        assertInvalid(() -> stub.add(AddRequest.newBuilder().setKey("job/state").setDelta(1).build()), "non-counter value");
        assertStateUntouched();
    }

    private static void assertInvalid(Supplier<?> call, String why) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.toString());
        assertTrue(e.getStatus().getDescription().contains(why), e.getStatus().getDescription());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void drain(InputStream in) throws IOException {
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // discard whatever the server answers until it closes
            }
        } catch (java.net.SocketException reset) {
            // a reset is a close too
        }
    }
}
