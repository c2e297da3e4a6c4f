package dev.trainyard.collectives.security;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-call proof of the job token that every gRPC call carries in the {@value #HEADER_NAME}
 * header instead of the token: {@code v1.<millis>.<nonce>.<mac>}, the mac an HMAC with the token
 * over the method, the time and a fresh nonce. The server accepts a proof once, within
 * {@link #WINDOW} of its own clock: a recorded header replayed later (or against another method)
 * is refused, and it reveals nothing of the token.
 *
 * <p>Per call rather than per connection because grpc-java gives servers no hook between the TLS
 * (or plaintext) handshake and the first call; a call costs one HMAC on each side (microseconds).
 */
public final class CallProof {
    public static final String HEADER_NAME = "trainyard-proof";
    /** How far the caller's clock may be from the server's; nodes of a cluster keep theirs far closer (NTP). */
    public static final Duration WINDOW = Duration.ofMinutes(5);
    private static final String PURPOSE = "trainyard grpc call v1";
    /** Bounds the replay memory even under a flood of valid calls: past this, proofs older than a window are swept first. */
    private static final int SWEEP_AT = 1 << 16;

    private final JobToken token;
    /** Nonces seen within the window, with the time (server clock, ms) after which they may be forgotten. */
    private final Map<String, Long> seen = new ConcurrentHashMap<>();
    /** Sweeps are a pass over every remembered nonce: at most one a second, not one per call. */
    private volatile long nextSweep;

    CallProof(JobToken token) {
        this.token = token;
    }

    /** A fresh header value for a call of {@code method}. */
    static String create(JobToken token, String method, long nowMillis) {
        HexFormat hex = HexFormat.of();
        String millis = Long.toString(nowMillis);
        String nonce = hex.formatHex(TokenProof.nonce());
        return "v1." + millis + "." + nonce + "." + hex.formatHex(mac(token, method, millis, nonce));
    }

    private static byte[] mac(JobToken token, String method, String millis, String nonce) {
        return TokenProof.of(token, PURPOSE, method.getBytes(StandardCharsets.US_ASCII),
                millis.getBytes(StandardCharsets.US_ASCII), nonce.getBytes(StandardCharsets.US_ASCII));
    }

    /** Null if {@code header} proves the token for a call of {@code method} now and was not seen before; else why not. */
    String refusal(String header, String method, long nowMillis) {
        if (header == null) {
            return "no proof of the job token (header " + HEADER_NAME + ")";
        }
        String[] parts = header.split("\\.", -1);
        if (parts.length != 4 || !parts[0].equals("v1") || parts[2].length() != 2 * TokenProof.NONCE_BYTES
                || parts[3].length() != 2 * TokenProof.BYTES) {
            return "a malformed proof of the job token (another Trainyard version?)";
        }
        long millis;
        byte[] presented;
        try {
            millis = Long.parseLong(parts[1]);
            presented = HexFormat.of().parseHex(parts[3]);
        } catch (IllegalArgumentException e) {
            return "a malformed proof of the job token";
        }
        if (!TokenProof.matches(mac(token, method, parts[1], parts[2]), presented)) {
            return "a wrong job token (its proof does not verify)";
        }
        if (Math.abs(nowMillis - millis) > WINDOW.toMillis()) {
            return "a proof dated " + (nowMillis - millis) / 1000 + " s from this server's clock, outside the "
                    + WINDOW.toMinutes() + "-minute window: a replayed call, or clocks that differ (synchronize them with NTP)";
        }
        if (seen.size() >= SWEEP_AT && nowMillis >= nextSweep) {
            nextSweep = nowMillis + 1000;
            seen.values().removeIf(until -> until < nowMillis);
        }
        if (seen.putIfAbsent(parts[2], millis + 2 * WINDOW.toMillis()) != null) {
            return "a replayed call (its proof was used before)";
        }
        return null;
    }
}
