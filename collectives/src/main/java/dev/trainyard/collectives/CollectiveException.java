package dev.trainyard.collectives;

import java.util.List;

/** A collective failed. {@link #ranks()} names the ranks held responsible, if any are known. */
public class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final List<Integer> ranks;

    public CollectiveException(String message, List<Integer> ranks, Throwable cause) {
        super(message, cause);
        this.ranks = List.copyOf(ranks);
    }

    public CollectiveException(String message) {
        this(message, List.of(), null);
    }

    /** Ranks that caused the failure (did not deliver, died, disagreed); empty if unknown. */
    public List<Integer> ranks() {
        return ranks;
    }
}
