package dev.trainyard.collectives.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.store.proto.AwaitReply;
import dev.trainyard.collectives.store.proto.AwaitRequest;
import dev.trainyard.collectives.store.proto.StoreGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client holding the token tries to exhaust the store (the launcher that hosts it is the job):
 * too many keys, too many bytes, too many and too wide waits, waits abandoned by cancelling.
 * Each is refused with RESOURCE_EXHAUSTED naming the limit, what was stored stays, the store keeps
 * serving, and abandoned waits leave nothing behind.
 */
class StoreLimitsTest {
    private static final StoreLimits SMALL = new StoreLimits(100, 8 << 10, 20, 50);
    private final JobToken token = JobToken.generate();
    private StoreServer server;
    private GrpcStore client;
    private ManagedChannel raw;

    @BeforeEach
    void start() {
        server = StoreServer.start("127.0.0.1", 0, token, TransportSecurity.plaintext(), Duration.ofSeconds(30), SMALL);
        client = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(30));
        raw = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        client.setString("job/state", "running");
    }

    @AfterEach
    void stop() {
        raw.shutdownNow();
        client.close();
        server.close();
    }

    @Test
    void keysAndBytesAreCappedAndDeletingFreesRoom() {
        for (int i = 1; i < SMALL.maxKeys(); i++) {
            client.setString("k/" + i, "v");
        }
        assertExhausted(() -> {
            client.setString("k/one-too-many", "v");
            return null;
        }, "100 keys, its limit");
        assertExhausted(() -> client.add("k/counter", 1), "100 keys, its limit");
        client.setString("k/1", "overwriting an existing key needs no new key");
        assertTrue(client.delete("k/2"));
        client.setString("k/fits-again", "v");

        assertTrue(client.delete("k/3"));
        assertExhausted(() -> {
            client.set("k/big", new byte[9 << 10]);
            return null;
        }, "limit of 8192 bytes");
        assertEquals("running", client.getString("job/state", Duration.ofSeconds(1)), "what was stored stays");
    }

    @Test
    void waitsAreCappedAndCancelledWaitsAreForgottenAtOnce() throws Exception {
        StoreGrpc.StoreStub async = StoreGrpc.newStub(raw).withCallCredentials(token.callCredentials());
        List<io.grpc.Context.CancellableContext> calls = new ArrayList<>();
        List<CompletableFuture<Status>> ends = new ArrayList<>();
        for (int i = 0; i < SMALL.maxWaiters(); i++) {
            io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
            CompletableFuture<Status> end = new CompletableFuture<>();
            AwaitRequest wait = AwaitRequest.newBuilder().addKeys("never/" + i).setTimeoutMs(Duration.ofHours(20).toMillis()).build();
            ctx.run(() -> async.await(wait, observer(end)));
            calls.add(ctx);
            ends.add(end);
        }
        awaitPending(SMALL.maxWaiters());
        assertExhausted(() -> client.getString("never/more", Duration.ofMinutes(10)), "20 pending waits, its limit");
        calls.forEach(c -> c.cancel(null));
        for (CompletableFuture<Status> end : ends) {
            assertEquals(Status.Code.CANCELLED, end.get(10, TimeUnit.SECONDS).getCode());
        }
        awaitPending(0);

        // a wait that is answered also leaves nothing behind, and the store still serves waits
        CompletableFuture<String> got = CompletableFuture.supplyAsync(() -> client.getString("late/key", Duration.ofSeconds(20)));
        awaitPending(1);
        client.setString("late/key", "here");
        assertEquals("here", got.get(10, TimeUnit.SECONDS));
        awaitPending(0);

        List<String> wide = IntStream.range(0, SMALL.maxKeysPerWait() + 1).mapToObj(i -> "w/" + i).toList();
        assertExhausted(() -> {
            client.await(wide, Duration.ofSeconds(1));
            return null;
        }, "at most 50 keys");
    }

    @Test
    void aWaiterCompletesOnceEveryKeyExistsEvenWhenOneItSawIsDeletedAndComesBack() throws Exception {
        client.setString("a", "1");
        CompletableFuture<Void> waited = CompletableFuture.runAsync(() -> client.await(List.of("a", "b"), Duration.ofSeconds(20)));
        awaitPending(1);
        assertTrue(client.delete("a"));
        client.setString("b", "2");
        assertEquals(1, server.local().pendingWaits(), "'a' is missing again: the wait goes on");
        client.setString("a", "3");
        waited.get(10, TimeUnit.SECONDS);
        awaitPending(0);
    }

    private void awaitPending(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.local().pendingWaits() != n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("pending waits: " + server.local().pendingWaits() + ", expected " + n);
            }
            Thread.sleep(5);
        }
    }

    private static void assertExhausted(Supplier<?> call, String why) {
        StoreException e = assertThrows(StoreException.class, call::get);
        assertTrue(e.getMessage().contains("RESOURCE_EXHAUSTED") && e.getMessage().contains(why), e.getMessage());
    }

    private static StreamObserver<AwaitReply> observer(CompletableFuture<Status> end) {
        return new StreamObserver<>() {
            @Override
            public void onNext(AwaitReply value) {
            }

            @Override
            public void onError(Throwable t) {
                end.complete(t instanceof StatusRuntimeException s ? s.getStatus() : Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
                end.complete(Status.OK);
            }
        };
    }
}
