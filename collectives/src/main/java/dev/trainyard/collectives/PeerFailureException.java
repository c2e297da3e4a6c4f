package dev.trainyard.collectives;

import java.util.List;

/** A peer rank died, closed its communicator or became unreachable. */
public class PeerFailureException extends CollectiveException {
    private static final long serialVersionUID = 1L;

    public PeerFailureException(String message, List<Integer> ranks, Throwable cause) {
        super(message, ranks, cause);
    }
}
