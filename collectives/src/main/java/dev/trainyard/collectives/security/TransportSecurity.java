package dev.trainyard.collectives.security;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How gRPC connections between processes of a job are protected: plaintext (single node, loopback)
 * or mutual TLS for traffic that crosses nodes. With TLS every listener presents its certificate
 * and demands one signed by the job's CA from every client, on top of the job token.
 * Certificates must name the addresses the nodes use (IP or DNS subject alternative names);
 * keys are PEM PKCS#8 ({@code BEGIN PRIVATE KEY}).
 */
public final class TransportSecurity {
    private static final TransportSecurity PLAINTEXT = new TransportSecurity(null, null, null);

    private final Path cert;
    private final Path key;
    private final Path ca;

    private TransportSecurity(Path cert, Path key, Path ca) {
        this.cert = cert;
        this.key = key;
        this.ca = ca;
    }

    public static TransportSecurity plaintext() {
        return PLAINTEXT;
    }

    /**
     * Mutual TLS from PEM files; checks that they can be read and parsed now, so a wrong path fails
     * at start, not at the first connection.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static TransportSecurity mutualTls(Path cert, Path key, Path ca) {
        TransportSecurity tls = new TransportSecurity(cert, key, ca);
        for (Path p : new Path[] {cert, key, ca}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("TLS file " + p + " does not exist or cannot be read");
            }
        }
        try {
            // gRPC parses the PEM only when a server or channel is built; parse now to fail early
            GrpcSslContexts.forServer(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build();
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot use the TLS files (certificate " + cert + ", key " + key + ", CA " + ca
                    + "): " + e.getMessage() + "; they must be PEM, the key PKCS#8 ('BEGIN PRIVATE KEY')", e);
        }
        return tls;
    }

    public boolean encrypted() {
        return cert != null;
    }

    public ServerCredentials serverCredentials() {
        if (!encrypted()) {
            return InsecureServerCredentials.create();
        }
        try {
            return TlsServerCredentials.newBuilder().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile())
                    .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    public ChannelCredentials channelCredentials() {
        if (!encrypted()) {
            return InsecureChannelCredentials.create();
        }
        try {
            return TlsChannelCredentials.newBuilder().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build();
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }

    /** The three files, for handing to worker processes; empty for plaintext. */
    public java.util.List<Path> files() {
        return encrypted() ? java.util.List.of(cert, key, ca) : java.util.List.of();
    }

    @Override
    public String toString() {
        return encrypted() ? "mutual TLS (certificate " + cert + ", CA " + ca + ")" : "plaintext";
    }
}
