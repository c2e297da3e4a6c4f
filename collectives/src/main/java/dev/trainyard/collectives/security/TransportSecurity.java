package dev.trainyard.collectives.security;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How gRPC connections between processes of a job are protected: plaintext (single node, loopback)
 * or mutual TLS for traffic that crosses nodes. With TLS every listener presents its certificate
 * and demands one signed by the job's CA from every client, on top of the job token.
 * Certificates must name the addresses the nodes use (IP or DNS subject alternative names);
 * keys are PEM PKCS#8 ({@code BEGIN PRIVATE KEY}).
 */
public final class TransportSecurity {
    private static final TransportSecurity PLAINTEXT = new TransportSecurity(List.of(),
            InsecureServerCredentials.create(), InsecureChannelCredentials.create());

    private final List<Path> files;
    private final ServerCredentials server;
    private final ChannelCredentials channel;

    private TransportSecurity(List<Path> files, ServerCredentials server, ChannelCredentials channel) {
        this.files = files;
        this.server = server;
        this.channel = channel;
    }

    public static TransportSecurity plaintext() {
        return PLAINTEXT;
    }

    /**
     * Mutual TLS from PEM files, read once here; checks that they parse now, so a wrong path or
     * format fails at start, not at the first connection.
     *
     * @throws IllegalArgumentException naming the file and what is wrong with it
     */
    public static TransportSecurity mutualTls(Path cert, Path key, Path ca) {
        for (Path p : new Path[] {cert, key, ca}) {
            if (!Files.isReadable(p)) {
                throw new IllegalArgumentException("TLS file " + p + " does not exist or cannot be read");
            }
        }
        try {
            // gRPC parses the PEM only when a server or channel is built; parse now to fail early
            GrpcSslContexts.forServer(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build();
            return new TransportSecurity(List.of(cert, key, ca),
                    TlsServerCredentials.newBuilder().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile())
                            .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build(),
                    TlsChannelCredentials.newBuilder().keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot use the TLS files (certificate " + cert + ", key " + key + ", CA " + ca
                    + "): " + e.getMessage() + "; they must be PEM, the key PKCS#8 ('BEGIN PRIVATE KEY')", e);
        }
    }

    public boolean encrypted() {
        return !files.isEmpty();
    }

    public ServerCredentials serverCredentials() {
        return server;
    }

    public ChannelCredentials channelCredentials() {
        return channel;
    }

    /** Certificate, key and CA, for handing to worker processes; empty for plaintext. */
    public List<Path> files() {
        return files;
    }

    @Override
    public String toString() {
        return encrypted() ? "mutual TLS (certificate " + files.get(0) + ", CA " + files.get(2) + ")" : "plaintext";
    }
}
