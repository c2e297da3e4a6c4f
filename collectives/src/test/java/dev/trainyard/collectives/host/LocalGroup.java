package dev.trainyard.collectives.host;

import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.GrpcStore;
import dev.trainyard.collectives.store.StoreServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.IntFunction;

/** n ranks as threads of this JVM, each with its own store client and data-plane server on loopback. */
public final class LocalGroup implements AutoCloseable {
    public final JobToken token = JobToken.generate();
    final StoreServer storeServer;
    final List<GrpcStore> stores = new ArrayList<>();
    public final List<HostCommunicator> comms = new ArrayList<>();
    final ExecutorService threads;

    /** @param tweak adjusts the default options of each rank (rank, defaults) -> options */
    LocalGroup(int n, BiFunction<Integer, CommunicatorOptions, CommunicatorOptions> tweak) {
        storeServer = StoreServer.start("127.0.0.1", 0, token, Duration.ofSeconds(30));
        threads = Executors.newFixedThreadPool(n);
        List<Future<HostCommunicator>> joining = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            GrpcStore store = new GrpcStore("127.0.0.1", storeServer.port(), token, Duration.ofSeconds(30));
            stores.add(store);
            int rank = r;
            CommunicatorOptions options = tweak.apply(rank, CommunicatorOptions.defaults(token)
                    .withConnectTimeout(Duration.ofSeconds(30)));
            joining.add(threads.submit(() -> HostCommunicator.connect(store, rank, n, options)));
        }
        for (Future<HostCommunicator> f : joining) {
            comms.add(get(f));
        }
    }

    LocalGroup(int n) {
        this(n, (r, o) -> o);
    }

    LocalGroup(int n, Transport transport) {
        this(n, (r, o) -> o.withTransport(transport));
    }

    LocalGroup(int n, Transport transport, Duration timeout) {
        this(n, (r, o) -> o.withTransport(transport).withTimeout(timeout));
    }

    /** Runs {@code body(rank)} on every rank concurrently and returns the results in rank order. */
    <T> List<T> onAll(IntFunction<T> body) {
        List<Future<T>> fs = new ArrayList<>();
        for (int r = 0; r < comms.size(); r++) {
            int rank = r;
            fs.add(threads.submit((Callable<T>) () -> body.apply(rank)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            out.add(get(f));
        }
        return out;
    }

    static <T> T get(Future<T> f) {
        try {
            return f.get(120, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new AssertionError(e.getCause());
        } catch (Exception e) {
            throw new AssertionError("rank did not finish in 120 s", e);
        }
    }

    public HostCommunicator comm(int rank) {
        return comms.get(rank);
    }

    @Override
    public void close() {
        onAll(r -> {
            comms.get(r).close();
            return null;
        });
        threads.shutdownNow();
        stores.forEach(GrpcStore::close);
        storeServer.close();
    }
}
