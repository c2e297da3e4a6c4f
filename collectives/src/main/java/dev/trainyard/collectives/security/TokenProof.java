package dev.trainyard.collectives.security;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proofs of knowing the job token that reveal nothing of it: HMAC-SHA256 keyed with the token over
 * a purpose label and fresh values. Whoever records a proof learns neither the token nor a proof
 * that will be accepted again (each covers a nonce its verifier chose or has not seen before).
 */
public final class TokenProof {
    public static final int BYTES = 32;
    public static final int NONCE_BYTES = 32;
    private static final SecureRandom RANDOM = new SecureRandom();

    private TokenProof() {
    }

    /** HMAC-SHA256(token, purpose ‖ 0 ‖ part₀ ‖ 0 ‖ part₁ …); the separators keep different splits apart. */
    public static byte[] of(JobToken token, String purpose, byte[]... parts) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(token.value().getBytes(StandardCharsets.US_ASCII), "HmacSHA256"));
            mac.update(purpose.getBytes(StandardCharsets.US_ASCII));
            for (byte[] p : parts) {
                mac.update((byte) 0);
                mac.update(p);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    /** Compares a presented proof in constant time. */
    public static boolean matches(byte[] expected, byte[] presented) {
        return presented != null && MessageDigest.isEqual(expected, presented);
    }

    public static byte[] nonce() {
        byte[] n = new byte[NONCE_BYTES];
        RANDOM.nextBytes(n);
        return n;
    }
}
