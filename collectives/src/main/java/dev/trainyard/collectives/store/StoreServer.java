package dev.trainyard.collectives.store;

import dev.trainyard.collectives.GrpcServers;
import com.google.protobuf.ByteString;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.store.proto.AddReply;
import dev.trainyard.collectives.store.proto.AddRequest;
import dev.trainyard.collectives.store.proto.CheckReply;
import dev.trainyard.collectives.store.proto.CheckRequest;
import dev.trainyard.collectives.store.proto.CompareAndSetReply;
import dev.trainyard.collectives.store.proto.CompareAndSetRequest;
import dev.trainyard.collectives.store.proto.DeleteReply;
import dev.trainyard.collectives.store.proto.DeleteRequest;
import dev.trainyard.collectives.store.proto.GetReply;
import dev.trainyard.collectives.store.proto.GetRequest;
import dev.trainyard.collectives.store.proto.SetReply;
import dev.trainyard.collectives.store.proto.SetRequest;
import dev.trainyard.collectives.store.proto.StoreGrpc;
import dev.trainyard.collectives.store.proto.AwaitReply;
import dev.trainyard.collectives.store.proto.AwaitRequest;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/** Serves an {@link InMemoryStore} over gRPC; every call must carry the job token. Hosted by the launcher. */
public final class StoreServer implements AutoCloseable {
    /** Rendezvous values are small (addresses, counters, failure reports); anything larger is refused. */
    static final int MAX_MESSAGE_BYTES = 4 << 20;
    static final int MAX_KEY_CHARS = 1024;
    /** Waits beyond a day are a client bug (or an attack holding waiters open), not a rendezvous. */
    static final long MAX_WAIT_MILLIS = Duration.ofDays(1).toMillis();
    static final int MAX_CALLS_PER_CONNECTION = 1024;

    private final InMemoryStore store;
    private final Server server;
    private final InetSocketAddress address;

    private StoreServer(InMemoryStore store, Server server, InetSocketAddress address) {
        this.store = store;
        this.server = server;
        this.address = address;
    }

    /**
     * Starts a store on {@code host:port} (port 0 picks a free one).
     *
     * @throws IllegalStateException naming the address if the port is taken
     */
    public static StoreServer start(String host, int port, JobToken token, Duration defaultTimeout) {
        return start(host, port, token, TransportSecurity.plaintext(), defaultTimeout);
    }

    /** As {@link #start(String, int, JobToken, Duration)}, with TLS when {@code security} asks for it. */
    public static StoreServer start(String host, int port, JobToken token, TransportSecurity security, Duration defaultTimeout) {
        return start(host, port, token, security, defaultTimeout, StoreLimits.DEFAULT);
    }

    /** As above, holding at most {@code limits}. */
    public static StoreServer start(String host, int port, JobToken token, TransportSecurity security, Duration defaultTimeout,
                                    StoreLimits limits) {
        InMemoryStore store = new InMemoryStore(defaultTimeout, limits);
        // one client cannot open unbounded streams (a rank needs a handful), and a client host that vanished
        // without closing its connection is dropped after a missed ping, its waits with it
        Server server = GrpcServers.builder(new InetSocketAddress(host, port), security.serverCredentials())
                .maxInboundMessageSize(MAX_MESSAGE_BYTES)
                .maxConcurrentCallsPerConnection(MAX_CALLS_PER_CONNECTION)
                .addService(new Service(store))
                .intercept(token.serverInterceptor("rendezvous store"))
                .build();
        try {
            server.start();
        } catch (IOException e) {
            store.close();
            if (e.getCause() instanceof BindException || e instanceof BindException
                    || String.valueOf(e.getMessage()).contains("bind")) {
                throw new IllegalStateException("cannot listen on " + host + ":" + port + " for the rendezvous store: "
                        + rootMessage(e) + "; choose another port, or 0 to pick a free one", e);
            }
            throw new UncheckedIOException("cannot start the rendezvous store on " + host + ":" + port, e);
        }
        InetSocketAddress bound = (InetSocketAddress) server.getListenSockets().get(0);
        return new StoreServer(store, server, new InetSocketAddress(host, bound.getPort()));
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    public InetSocketAddress address() {
        return address;
    }

    public int port() {
        return address.getPort();
    }

    /** Direct access for the hosting process (no network, no token needed in-process). */
    public InMemoryStore local() {
        return store;
    }

    @Override
    public void close() {
        store.close();
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Service extends StoreGrpc.StoreImplBase {
        private final InMemoryStore store;

        Service(InMemoryStore store) {
            this.store = store;
        }

        @Override
        public void set(SetRequest req, StreamObserver<SetReply> out) {
            reply(out, () -> {
                store.set(key(req.getKey()), req.getValue().toByteArray());
                return SetReply.getDefaultInstance();
            });
        }

        @Override
        public void get(GetRequest req, StreamObserver<GetReply> out) {
            List<String> keys = List.of(req.getKey());
            whenPresent(out, keys, req.getTimeoutMs(), missing -> {
                byte[] v = missing.isEmpty() ? store.peek(req.getKey()) : null;
                return v == null ? GetReply.newBuilder().setFound(false).build()
                        : GetReply.newBuilder().setFound(true).setValue(ByteString.copyFrom(v)).build();
            });
        }

        @Override
        public void await(AwaitRequest req, StreamObserver<AwaitReply> out) {
            whenPresent(out, req.getKeysList(), req.getTimeoutMs(), missing -> AwaitReply.newBuilder().addAllMissing(missing).build());
        }

        /**
         * Replies once {@code keys} exist or the wait times out. A cancelled call (the client gave up,
         * its deadline passed, its connection dropped) cancels the wait, so the store forgets it then
         * and not at its own timeout, which may be a day away.
         */
        private <T> void whenPresent(StreamObserver<T> out, List<String> keys, long timeoutMs, Function<List<String>, T> answer) {
            CompletableFuture<List<String>> wait;
            try {
                wait = store.whenPresent(keys(keys, timeoutMs), Duration.ofMillis(timeoutMs));
            } catch (RuntimeException e) {
                refuse(out, e);
                return;
            }
            if (out instanceof ServerCallStreamObserver<T> call) {
                call.setOnCancelHandler(() -> wait.cancel(false));
            }
            wait.whenComplete((missing, err) -> {
                if (wait.isCancelled()) {
                    return;
                }
                reply(out, () -> {
                    if (err != null) {
                        throw err instanceof RuntimeException re ? re : new StoreException(err.toString(), err);
                    }
                    return answer.apply(missing);
                });
            });
        }

        @Override
        public void add(AddRequest req, StreamObserver<AddReply> out) {
            reply(out, () -> AddReply.newBuilder().setValue(store.add(key(req.getKey()), req.getDelta())).build());
        }

        @Override
        public void compareAndSet(CompareAndSetRequest req, StreamObserver<CompareAndSetReply> out) {
            reply(out, () -> CompareAndSetReply.newBuilder().setCurrent(ByteString.copyFrom(store.compareAndSet(
                    key(req.getKey()), req.getExpected().toByteArray(), req.getDesired().toByteArray()))).build());
        }

        @Override
        public void delete(DeleteRequest req, StreamObserver<DeleteReply> out) {
            reply(out, () -> DeleteReply.newBuilder().setDeleted(store.delete(key(req.getKey()))).build());
        }

        @Override
        public void check(CheckRequest req, StreamObserver<CheckReply> out) {
            reply(out, () -> CheckReply.newBuilder().setAllPresent(store.check(keys(req.getKeysList(), 0))).build());
        }

        /** A hostile or buggy request is refused with INVALID_ARGUMENT before it touches the store. */
        private static String key(String key) {
            if (key.isEmpty() || key.length() > MAX_KEY_CHARS) {
                throw new IllegalArgumentException("store keys must be 1.." + MAX_KEY_CHARS + " characters, got " + key.length());
            }
            return key;
        }

        private static List<String> keys(List<String> keys, long waitMillis) {
            if (waitMillis < 0 || waitMillis > MAX_WAIT_MILLIS) {
                throw new IllegalArgumentException("wait of " + waitMillis + " ms is outside 0.." + MAX_WAIT_MILLIS + " ms");
            }
            keys.forEach(Service::key);
            return keys;
        }

        private static <T> void reply(StreamObserver<T> out, Supplier<T> body) {
            T value;
            try {
                value = body.get();
            } catch (RuntimeException e) {
                refuse(out, e);
                return;
            }
            out.onNext(value);
            out.onCompleted();
        }

        /** Bad requests are INVALID_ARGUMENT, a crossed {@link StoreLimits} RESOURCE_EXHAUSTED, anything else UNAVAILABLE. */
        private static void refuse(StreamObserver<?> out, RuntimeException e) {
            Status status = e instanceof IllegalArgumentException ? Status.INVALID_ARGUMENT
                    : e instanceof StoreLimitException ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
            out.onError(status.withDescription(e.getMessage()).asRuntimeException());
        }
    }
}
