package dev.trainyard.collectives;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a communicator. Immutable; change with the {@code with*} methods.
 *
 * @param token             job token every data-plane call must carry
 * @param bindHost          address the data-plane server listens on (loopback for single-node jobs)
 * @param advertiseHost     address published to peers (defaults to {@code bindHost})
 * @param timeout           per-collective timeout; on expiry the error names the ranks that did not deliver
 * @param connectTimeout    how long to wait for peers to publish their endpoints and accept connections
 * @param chunkBytes        pipeline unit of the ring algorithms and the largest frame on the wire
 * @param smallMessageBytes at or below this size all-reduce, all-gather and reduce-scatter use one
 *                          direct exchange (one hop) instead of the ring's 2(n-1) hops
 * @param receiveWindow     frames per peer parsed ahead of the consumer (back-pressure bound)
 * @param transport         what carries tensor frames (see {@link Transport})
 * @param security          plaintext or mutual TLS for every connection; with TLS tensors ride the
 *                          gRPC streams, since the raw TCP transport has no encryption
 */
public record CommunicatorOptions(JobToken token, String bindHost, String advertiseHost, Duration timeout,
                                  Duration connectTimeout, int chunkBytes, int smallMessageBytes, int receiveWindow,
                                  Transport transport, TransportSecurity security) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

    public CommunicatorOptions {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(bindHost, "bindHost");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(security, "security");
        if (advertiseHost == null) {
            advertiseHost = bindHost;
        }
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
    }

    /** Loopback, 5-minute timeout, 1 MiB chunks, 64 KiB small-message threshold, shared memory on one host and TCP between hosts. */
    public static CommunicatorOptions defaults(JobToken token) {
        return new CommunicatorOptions(token, "127.0.0.1", null, DEFAULT_TIMEOUT, Duration.ofMinutes(5),
                1 << 20, 64 << 10, 4, Transport.SHARED_MEMORY, TransportSecurity.plaintext());
    }

    public CommunicatorOptions withTimeout(Duration t) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, t, connectTimeout, chunkBytes, smallMessageBytes, receiveWindow, transport, security);
    }

    public CommunicatorOptions withConnectTimeout(Duration t) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, t, chunkBytes, smallMessageBytes, receiveWindow, transport, security);
    }

    public CommunicatorOptions withChunkBytes(int bytes) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, connectTimeout, bytes,
                Math.min(smallMessageBytes, bytes), receiveWindow, transport, security);
    }

    public CommunicatorOptions withSmallMessageBytes(int bytes) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, connectTimeout, chunkBytes, bytes, receiveWindow, transport, security);
    }

    public CommunicatorOptions withReceiveWindow(int frames) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, connectTimeout, chunkBytes, smallMessageBytes, frames, transport, security);
    }

    public CommunicatorOptions withTransport(Transport t) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, connectTimeout, chunkBytes, smallMessageBytes, receiveWindow, t, security);
    }

    public CommunicatorOptions withSecurity(TransportSecurity s) {
        return new CommunicatorOptions(token, bindHost, advertiseHost, timeout, connectTimeout, chunkBytes, smallMessageBytes, receiveWindow, transport, s);
    }

    /** The transport actually used: TLS needs the gRPC streams (the raw TCP transport is plaintext). */
    public Transport effectiveTransport() {
        return security.encrypted() ? Transport.GRPC_STREAM : transport;
    }

    public CommunicatorOptions withHosts(String bind, String advertise) {
        return new CommunicatorOptions(token, bind, advertise, timeout, connectTimeout, chunkBytes, smallMessageBytes, receiveWindow, transport, security);
    }
}
