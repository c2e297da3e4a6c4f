package dev.trainyard.collectives.security;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.ServerInterceptor;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * The shared secret of one job. It never crosses the wire: every gRPC call (store, peer control,
 * data-plane streams) carries a {@link CallProof} of it, the raw TCP data plane a challenge and
 * response ({@link TokenProof}); servers refuse calls and connections without a valid proof. Never
 * put it on a command line.
 */
public final class JobToken {
    static final Metadata.Key<String> HEADER = Metadata.Key.of(CallProof.HEADER_NAME, Metadata.ASCII_STRING_MARSHALLER);
    private static final int MIN_LENGTH = 16;

    private final String value;

    private JobToken(String value) {
        this.value = value;
    }

    /** A fresh random token of 256 bits. */
    public static JobToken generate() {
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return new JobToken(HexFormat.of().formatHex(bytes));
    }

    /** Wraps a token received from the launcher (environment) or read from a token file. */
    public static JobToken of(String value) {
        Objects.requireNonNull(value, "token");
        String v = value.strip();
        if (v.length() < MIN_LENGTH) {
            throw new IllegalArgumentException("job token is too short (" + v.length() + " characters; need at least "
                    + MIN_LENGTH + "): generate one with 'head -c 32 /dev/urandom | xxd -p -c 64'");
        }
        if (!v.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("job token must be printable ASCII without spaces");
        }
        return new JobToken(v);
    }

    /** The token's text; hand it to workers through the environment only. */
    public String value() {
        return value;
    }

    /** Server side: refuses calls without a fresh proof of this token with UNAUTHENTICATED before any handler runs. */
    public ServerInterceptor serverInterceptor(String serviceName) {
        return new TokenServerInterceptor(new CallProof(this), serviceName);
    }

    /** Client side: attaches a fresh proof of this token (never the token) to every call. */
    public CallCredentials callCredentials() {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata headers = new Metadata();
                headers.put(HEADER, CallProof.create(JobToken.this, info.getMethodDescriptor().getFullMethodName(), System.currentTimeMillis()));
                applier.apply(headers);
            }
        };
    }

    /** The same secret; compared in constant time, as every comparison of a secret should be. */
    @Override
    public boolean equals(Object o) {
        return o instanceof JobToken t && MessageDigest.isEqual(value.getBytes(StandardCharsets.US_ASCII), t.value.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public int hashCode() {
        return value.length(); // nothing of the secret leaks through a hash table
    }

    @Override
    public String toString() {
        return "JobToken[redacted]";
    }
}
