package dev.trainyard.collectives.store;

import dev.trainyard.collectives.Keepalive;
import com.google.protobuf.ByteString;
import dev.trainyard.collectives.HostPort;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.store.proto.AddRequest;
import dev.trainyard.collectives.store.proto.AwaitReply;
import dev.trainyard.collectives.store.proto.AwaitRequest;
import dev.trainyard.collectives.store.proto.CheckRequest;
import dev.trainyard.collectives.store.proto.CompareAndSetRequest;
import dev.trainyard.collectives.store.proto.DeleteRequest;
import dev.trainyard.collectives.store.proto.GetReply;
import dev.trainyard.collectives.store.proto.GetRequest;
import dev.trainyard.collectives.store.proto.SetRequest;
import dev.trainyard.collectives.store.proto.StoreGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Client of a {@link StoreServer}. Every call carries the job token and has a deadline. */
public final class GrpcStore implements Store {
    /** Default deadline of calls that do not wait for keys; a store that does not answer by then is gone. */
    public static final Duration DEFAULT_CALL_DEADLINE = Duration.ofSeconds(30);
    /** Extra time granted to waiting calls so the server's own timeout answers first. */
    private static final Duration WAIT_SLACK = Duration.ofSeconds(10);

    private final String target;
    private final ManagedChannel channel;
    private final StoreGrpc.StoreBlockingStub stub;
    private final Duration timeout;
    private final Duration callDeadline;

    public GrpcStore(String host, int port, JobToken token, Duration timeout) {
        this(host, port, token, TransportSecurity.plaintext(), timeout, DEFAULT_CALL_DEADLINE);
    }

    /** @param callDeadline how long a call that does not wait for keys may take (a supervisor polling the store wants it short) */
    public GrpcStore(String host, int port, JobToken token, TransportSecurity security, Duration timeout, Duration callDeadline) {
        this.target = HostPort.format(host, port);
        this.timeout = timeout;
        this.callDeadline = callDeadline;
        this.channel = Keepalive.on(NettyChannelBuilder.forAddress(host, port, security.channelCredentials())).build();
        this.stub = StoreGrpc.newBlockingStub(channel).withCallCredentials(token.callCredentials());
    }

    private StoreGrpc.StoreBlockingStub stub(Duration deadline) {
        return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
    }

    private <T> T call(String what, Supplier<T> body) {
        try {
            return body.get();
        } catch (StatusRuntimeException e) {
            Status.Code code = e.getStatus().getCode();
            String hint = switch (code) {
                case UNAUTHENTICATED -> "; the job token does not match the store's (check TRAINYARD_TOKEN / --token-file)";
                case UNAVAILABLE -> "; is the launcher hosting the store running and reachable at this address?";
                case DEADLINE_EXCEEDED -> "; the store did not answer in time";
                default -> "";
            };
            throw new StoreException("rendezvous store " + target + ": " + what + " failed: " + code
                    + (e.getStatus().getDescription() == null ? "" : " (" + e.getStatus().getDescription() + ")") + hint, e);
        }
    }

    @Override
    public void set(String key, byte[] value) {
        call("set " + key, () -> stub(callDeadline).set(
                SetRequest.newBuilder().setKey(key).setValue(ByteString.copyFrom(value)).build()));
    }

    @Override
    public byte[] get(String key, Duration timeout) {
        GetReply r = call("get " + key, () -> stub(timeout.plus(WAIT_SLACK)).get(
                GetRequest.newBuilder().setKey(key).setTimeoutMs(timeout.toMillis()).build()));
        if (!r.getFound()) {
            throw new StoreTimeoutException(List.of(key), timeout);
        }
        return r.getValue().toByteArray();
    }

    @Override
    public void await(List<String> keys, Duration timeout) {
        AwaitReply r = call("wait for " + keys, () -> stub(timeout.plus(WAIT_SLACK)).await(
                AwaitRequest.newBuilder().addAllKeys(keys).setTimeoutMs(timeout.toMillis()).build()));
        if (r.getMissingCount() > 0) {
            throw new StoreTimeoutException(r.getMissingList(), timeout);
        }
    }

    @Override
    public long add(String key, long delta) {
        return call("add " + key, () -> stub(callDeadline).add(
                AddRequest.newBuilder().setKey(key).setDelta(delta).build())).getValue();
    }

    @Override
    public byte[] compareAndSet(String key, byte[] expected, byte[] desired) {
        return call("compareAndSet " + key, () -> stub(callDeadline).compareAndSet(CompareAndSetRequest.newBuilder()
                .setKey(key).setExpected(ByteString.copyFrom(expected)).setDesired(ByteString.copyFrom(desired)).build()))
                .getCurrent().toByteArray();
    }

    @Override
    public boolean delete(String key) {
        return call("delete " + key, () -> stub(callDeadline).delete(
                DeleteRequest.newBuilder().setKey(key).build())).getDeleted();
    }

    @Override
    public boolean check(List<String> keys) {
        return call("check " + keys, () -> stub(callDeadline).check(
                CheckRequest.newBuilder().addAllKeys(keys).build())).getAllPresent();
    }

    @Override
    public Duration timeout() {
        return timeout;
    }

    @Override
    public void close() {
        channel.shutdownNow();
        try {
            channel.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "GrpcStore[" + target + "]";
    }
}
