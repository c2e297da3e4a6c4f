package dev.trainyard.collectives.host;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveTimeoutException;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.FingerprintMismatchException;
import dev.trainyard.collectives.PeerFailureException;
import java.util.List;

/** Carries a failure's type across the wire in abort notices, so peers fail with the same exception type. */
enum FailureKind {
    PEER_LOST,
    FINGERPRINT_MISMATCH,
    TIMEOUT,
    ABORTED;

    static FailureKind of(CollectiveException e) {
        if (e instanceof PeerFailureException) {
            return PEER_LOST;
        }
        if (e instanceof FingerprintMismatchException) {
            return FINGERPRINT_MISMATCH;
        }
        if (e instanceof CollectiveTimeoutException) {
            return TIMEOUT;
        }
        return ABORTED;
    }

    static CollectiveException rebuild(String kind, String message, List<Integer> ranks) {
        FailureKind k;
        try {
            k = valueOf(kind);
        } catch (IllegalArgumentException e) {
            k = ABORTED;
        }
        return switch (k) {
            case PEER_LOST -> new PeerFailureException(message, ranks, null);
            case FINGERPRINT_MISMATCH -> new FingerprintMismatchException(message, ranks);
            case TIMEOUT -> new CollectiveTimeoutException(message, ranks);
            case ABORTED -> new CommunicatorAbortedException(message, ranks, null);
        };
    }
}
