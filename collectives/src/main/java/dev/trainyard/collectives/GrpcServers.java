package dev.trainyard.collectives;

import dev.trainyard.collectives.security.TransportFailureLog;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The one place our gRPC servers (the rendezvous store, each rank's peer service) get their
 * connection policy, so that they cannot drift apart: keepalive ({@link Keepalive}), refused
 * connections logged once a minute ({@link TransportFailureLog}), and a deadline for the handshake.
 */
public final class GrpcServers {
    /**
     * A connection must finish its handshake (TLS, HTTP/2 preface and settings) within this, as on the
     * TCP data plane; gRPC's default is 120 s, so a slowloris held each connection two minutes.
     */
    public static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

    private GrpcServers() {
    }

    public static NettyServerBuilder builder(InetSocketAddress address, ServerCredentials credentials) {
        TransportFailureLog.install();
        NettyServerBuilder b = Keepalive.on(NettyServerBuilder.forAddress(address, credentials));
        b.handshakeTimeout(HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        return b;
    }
}
