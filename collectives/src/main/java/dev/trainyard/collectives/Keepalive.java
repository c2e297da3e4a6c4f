package dev.trainyard.collectives;

import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.nio.channels.NetworkChannel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import jdk.net.ExtendedSocketOptions;

/**
 * Keepalives for every connection of a job, so that a host that vanished without closing its connections (power
 * loss, a cable, a partition: no FIN, no RST) is noticed within {@link #DETECTION_BOUND} instead of the collective
 * timeout (minutes) or never (an idle store connection).
 *
 * <p>Raw TCP: {@code SO_KEEPALIVE} with the probe timing set per socket (Linux defaults would wait two hours).
 * Kernel keepalive probes an <em>idle</em> connection only; a connection with unacknowledged data in flight is
 * retransmitted instead and ends by the collective timeout, which bounds every wait anyway. gRPC: HTTP/2 PINGs from
 * the client, answered within a timeout, allowed by our servers at that rate (gRPC's default server policy would
 * answer a ping more often than every 5 minutes with GOAWAY "too_many_pings").
 */
public final class Keepalive {
    /** Idle time before the first probe, probe interval and probes: 10 s + 5 × 4 s = 30 s. */
    static final int TCP_IDLE_S = 10;
    static final int TCP_INTERVAL_S = 5;
    static final int TCP_PROBES = 4;
    /** A gRPC ping every 20 s on a quiet connection, answered within 10 s: 30 s. */
    static final Duration GRPC_PING = Duration.ofSeconds(20);
    static final Duration GRPC_PING_TIMEOUT = Duration.ofSeconds(10);
    /** The longest a dead peer stays undetected on an idle connection. */
    public static final Duration DETECTION_BOUND = Duration.ofSeconds(30);

    private Keepalive() {}

    /** Turns on keepalive probing with our timing on a TCP socket (either end). */
    public static void on(NetworkChannel ch) throws IOException {
        ch.setOption(java.net.StandardSocketOptions.SO_KEEPALIVE, true);
        if (ch.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE)) { // Linux, macOS; not every platform
            ch.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, TCP_IDLE_S);
            ch.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, TCP_INTERVAL_S);
            ch.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, TCP_PROBES);
        }
    }

    /** A gRPC client that pings its server, also while no call is open (an idle store connection included). */
    public static NettyChannelBuilder on(NettyChannelBuilder builder) {
        return builder.keepAliveTime(GRPC_PING.toSeconds(), TimeUnit.SECONDS)
                .keepAliveTimeout(GRPC_PING_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
    }

    /** A gRPC server that pings its clients and accepts their pings at our rate. */
    public static NettyServerBuilder on(NettyServerBuilder builder) {
        return builder.keepAliveTime(GRPC_PING.toSeconds(), TimeUnit.SECONDS)
                .keepAliveTimeout(GRPC_PING_TIMEOUT.toSeconds(), TimeUnit.SECONDS)
                .permitKeepAliveTime(GRPC_PING.toSeconds() / 2, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true);
    }
}
