package dev.trainyard.collectives;

import java.util.List;

/** Two ranks issued different collectives at the same position of the sequence. */
public class FingerprintMismatchException extends CollectiveException {
    private static final long serialVersionUID = 1L;

    public FingerprintMismatchException(String message, List<Integer> ranks) {
        super(message, ranks, null);
    }
}
