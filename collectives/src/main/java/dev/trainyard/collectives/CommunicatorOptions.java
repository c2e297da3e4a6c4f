package dev.trainyard.collectives;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Settings of a communicator. Immutable; change with the {@code with*} methods, each of which
 * copies the settings once ({@link #with}), changes one and checks the result, so a new setting is
 * one field, one line in the copy and its own {@code with} method.
 *
 * <ul>
 * <li>{@code token}: job token every data-plane call must carry
 * <li>{@code bindHost}: address the data-plane server listens on (loopback for single-node jobs)
 * <li>{@code advertiseHost}: address published to peers (defaults to {@code bindHost})
 * <li>{@code timeout}: per-collective timeout; on expiry the error names the ranks that did not deliver
 * <li>{@code connectTimeout}: how long to wait for peers to publish their endpoints and accept connections
 * <li>{@code chunkBytes}: pipeline unit of the ring algorithms and the largest frame on the wire
 * <li>{@code smallMessageBytes}: at or below this size all-reduce, all-gather and reduce-scatter use one
 *     direct exchange (one hop) instead of the ring's 2(n-1) hops
 * <li>{@code receiveWindow}: frames per peer parsed ahead of the consumer (back-pressure bound)
 * <li>{@code transport}: what carries tensor frames (see {@link Transport})
 * <li>{@code security}: plaintext or mutual TLS for every connection; with TLS tensors ride the
 *     gRPC streams, since the raw TCP transport has no encryption
 * <li>{@code allReduceAlgorithm}: ring or hierarchical across hosts (see {@link AllReduceAlgorithm})
 * <li>{@code hostIdentity}: which ranks count as one host for the hierarchical all-reduce; by
 *     default the machine's boot id and the process's network namespace, so processes in one
 *     namespace of one machine are one host (empty: that default)
 * </ul>
 */
public final class CommunicatorOptions {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    private JobToken token;
    private String bindHost = "127.0.0.1";
    private String advertiseHost = "127.0.0.1";
    private Duration timeout = DEFAULT_TIMEOUT;
    private Duration connectTimeout = Duration.ofMinutes(5);
    private int chunkBytes = 1 << 20;
    private int smallMessageBytes = 64 << 10;
    private int receiveWindow = 4;
    private Transport transport = Transport.SHARED_MEMORY;
    private TransportSecurity security = TransportSecurity.plaintext();
    private AllReduceAlgorithm allReduceAlgorithm = AllReduceAlgorithm.AUTO;
    private String hostIdentity = "";

    private CommunicatorOptions() {
    }

    /** Loopback, 5-minute timeout, 1 MiB chunks, 64 KiB small-message threshold, shared memory on one host and TCP between hosts. */
    public static CommunicatorOptions defaults(JobToken token) {
        CommunicatorOptions o = new CommunicatorOptions();
        o.token = Objects.requireNonNull(token, "token");
        return o;
    }

    /** The one place that lists every setting: a copy with {@code change} applied, checked. */
    private CommunicatorOptions with(Consumer<CommunicatorOptions> change) {
        CommunicatorOptions o = new CommunicatorOptions();
        o.token = token;
        o.bindHost = bindHost;
        o.advertiseHost = advertiseHost;
        o.timeout = timeout;
        o.connectTimeout = connectTimeout;
        o.chunkBytes = chunkBytes;
        o.smallMessageBytes = smallMessageBytes;
        o.receiveWindow = receiveWindow;
        o.transport = transport;
        o.security = security;
        o.allReduceAlgorithm = allReduceAlgorithm;
        o.hostIdentity = hostIdentity;
        change.accept(o);
        return o.checked();
    }

    private CommunicatorOptions checked() {
        Objects.requireNonNull(bindHost, "bindHost");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(security, "security");
        Objects.requireNonNull(allReduceAlgorithm, "allReduceAlgorithm");
        Objects.requireNonNull(hostIdentity, "hostIdentity");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("collective timeout must be positive, got " + timeout);
        }
        if (chunkBytes < 4096 || chunkBytes > (64 << 20) || chunkBytes % 8 != 0) {
            throw new IllegalArgumentException("chunkBytes must be a multiple of 8 between 4 KiB and 64 MiB, got " + chunkBytes);
        }
        if (smallMessageBytes < 0 || smallMessageBytes > chunkBytes) {
            throw new IllegalArgumentException("smallMessageBytes must be between 0 and chunkBytes (" + chunkBytes
                    + "), got " + smallMessageBytes);
        }
        if (receiveWindow < 1) {
            throw new IllegalArgumentException("receiveWindow must be at least 1, got " + receiveWindow);
        }
        return this;
    }

    public CommunicatorOptions withTimeout(Duration t) {
        return with(o -> o.timeout = t);
    }

    public CommunicatorOptions withConnectTimeout(Duration t) {
        return with(o -> o.connectTimeout = t);
    }

    /** Also lowers the small-message threshold to {@code bytes} when it was larger (it may not exceed a chunk). */
    public CommunicatorOptions withChunkBytes(int bytes) {
        return with(o -> {
            o.chunkBytes = bytes;
            o.smallMessageBytes = Math.min(smallMessageBytes, bytes);
        });
    }

    public CommunicatorOptions withSmallMessageBytes(int bytes) {
        return with(o -> o.smallMessageBytes = bytes);
    }

    public CommunicatorOptions withReceiveWindow(int frames) {
        return with(o -> o.receiveWindow = frames);
    }

    public CommunicatorOptions withTransport(Transport t) {
        return with(o -> o.transport = t);
    }

    public CommunicatorOptions withSecurity(TransportSecurity s) {
        return with(o -> o.security = s);
    }

    /** @param advertise null: the same as {@code bind} */
    public CommunicatorOptions withHosts(String bind, String advertise) {
        return with(o -> {
            o.bindHost = bind;
            o.advertiseHost = advertise == null ? bind : advertise;
        });
    }

    public CommunicatorOptions withAllReduceAlgorithm(AllReduceAlgorithm a) {
        return with(o -> o.allReduceAlgorithm = a);
    }

    /** Ranks with equal identities are one host to the hierarchical all-reduce (empty: the machine's own). */
    public CommunicatorOptions withHostIdentity(String identity) {
        return with(o -> o.hostIdentity = identity);
    }

    /** The transport actually used: TLS needs the gRPC streams (the raw TCP transport is plaintext). */
    public Transport effectiveTransport() {
        return security.encrypted() ? Transport.GRPC_STREAM : transport;
    }

    public JobToken token() {
        return token;
    }

    public String bindHost() {
        return bindHost;
    }

    public String advertiseHost() {
        return advertiseHost;
    }

    public Duration timeout() {
        return timeout;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public int chunkBytes() {
        return chunkBytes;
    }

    public int smallMessageBytes() {
        return smallMessageBytes;
    }

    public int receiveWindow() {
        return receiveWindow;
    }

    public Transport transport() {
        return transport;
    }

    public TransportSecurity security() {
        return security;
    }

    public AllReduceAlgorithm allReduceAlgorithm() {
        return allReduceAlgorithm;
    }

    public String hostIdentity() {
        return hostIdentity;
    }
}
