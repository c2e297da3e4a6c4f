package dev.trainyard.collectives.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.proto.SetRequest;
import dev.trainyard.collectives.store.proto.StoreGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The rendezvous store over real gRPC on loopback. */
class StoreTest {
    private final JobToken token = JobToken.generate();
    private StoreServer server;
    private GrpcStore store;

    @BeforeEach
    void start() {
        server = StoreServer.start("127.0.0.1", 0, token, Duration.ofSeconds(10));
        store = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(10));
    }

    @AfterEach
    void stop() {
        store.close();
        server.close();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void getWaitsForAKeySetLaterByAnotherClient() throws Exception {
        CompletableFuture<byte[]> pending = CompletableFuture.supplyAsync(() -> store.get("late", Duration.ofSeconds(10)));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (server.local().pendingWaits() == 0) { // the get has reached the store and is waiting
            assertTrue(System.nanoTime() < deadline, "the get never reached the store");
            Thread.onSpinWait();
        }
        assertFalse(pending.isDone());
        try (GrpcStore other = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(10))) {
            other.set("late", utf8("v"));
        }
        assertArrayEquals(utf8("v"), pending.get(10, TimeUnit.SECONDS));
    }

    @Test
    void waitTimesOutListingOnlyTheMissingKeys() {
        store.set("a", utf8("1"));
        long t0 = System.nanoTime();
        StoreTimeoutException e = assertThrows(StoreTimeoutException.class,
                () -> store.await(List.of("a", "b", "c"), Duration.ofMillis(300)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(List.of("b", "c"), e.missingKeys());
        assertTrue(e.getMessage().contains("[b, c]"), e.getMessage());
        assertTrue(ms >= 250 && ms < 5000, "took " + ms + " ms");
        StoreTimeoutException g = assertThrows(StoreTimeoutException.class, () -> store.get("nope", Duration.ofMillis(100)));
        assertEquals(List.of("nope"), g.missingKeys());
    }

    @Test
    void addIsAtomicAcrossConcurrentClients() throws Exception {
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            fs.add(CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 50; i++) {
                    store.add("counter", 1);
                }
            }));
        }
        for (CompletableFuture<Void> f : fs) {
            f.get(30, TimeUnit.SECONDS);
        }
        assertEquals(210, store.add("counter", 10));
        assertEquals("210", new String(store.get("counter"), StandardCharsets.UTF_8));
    }

    @Test
    void compareAndSetDeleteAndCheck() {
        assertArrayEquals(utf8("x"), store.compareAndSet("k", new byte[0], utf8("x")), "absent key matches empty");
        assertArrayEquals(utf8("x"), store.compareAndSet("k", utf8("wrong"), utf8("y")), "mismatch returns current");
        assertArrayEquals(utf8("z"), store.compareAndSet("k", utf8("x"), utf8("z")));
        assertTrue(store.check(List.of("k")));
        assertTrue(store.delete("k"));
        assertFalse(store.delete("k"));
        assertFalse(store.check(List.of("k")));
    }

    @Test
    void prefixViewsDoNotSeeEachOther() {
        Store a = store.prefixed("group-a/");
        Store b = store.prefixed("group-b/");
        a.set("endpoint/0", utf8("A"));
        b.set("endpoint/0", utf8("B"));
        assertArrayEquals(utf8("A"), a.get("endpoint/0"));
        assertArrayEquals(utf8("B"), b.get("endpoint/0"));
        assertArrayEquals(utf8("A"), store.get("group-a/endpoint/0"));
        StoreTimeoutException e = assertThrows(StoreTimeoutException.class,
                () -> a.await(List.of("endpoint/0", "endpoint/1"), Duration.ofMillis(100)));
        assertEquals(List.of("endpoint/1"), e.missingKeys(), "missing keys are reported as the view names them");
    }

    @Test
    void wrongOrMissingTokenIsRefusedAndChangesNothing() {
        store.set("key", utf8("original"));
        try (GrpcStore intruder = new GrpcStore("127.0.0.1", server.port(), JobToken.generate(), Duration.ofSeconds(5))) {
            StoreException e = assertThrows(StoreException.class, () -> intruder.set("key", utf8("evil")));
            assertTrue(e.getMessage().contains("UNAUTHENTICATED"), e.getMessage());
            assertTrue(e.getCause() instanceof StatusRuntimeException sre
                    && sre.getStatus().getCode() == Status.Code.UNAUTHENTICATED);
            assertThrows(StoreException.class, () -> intruder.get("key", Duration.ofMillis(100)));
            assertThrows(StoreException.class, () -> intruder.add("counter", 1));
        }
        ManagedChannel raw = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> StoreGrpc.newBlockingStub(raw)
                    .set(SetRequest.newBuilder().setKey("key").setValue(ByteString.copyFromUtf8("evil")).build()));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("no proof of the job token"));
        } finally {
            raw.shutdownNow();
        }
        assertArrayEquals(utf8("original"), server.local().peek("key"));
        assertNull(server.local().peek("counter"));
    }

    @Test
    void takenPortIsAClearErrorNotAHang() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> StoreServer.start("127.0.0.1", server.port(), token, Duration.ofSeconds(1)));
        assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()) && e.getMessage().contains("choose another port"),
                e.getMessage());
    }

    @Test
    void unreachableStoreNamesTheAddress() {
        int port = server.port();
        server.close();
        StoreException e = assertThrows(StoreException.class, () -> store.set("k", utf8("v")));
        assertTrue(e.getMessage().contains("127.0.0.1:" + port) && e.getMessage().contains("UNAVAILABLE"), e.getMessage());
    }
}
