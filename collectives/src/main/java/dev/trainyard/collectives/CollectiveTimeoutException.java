package dev.trainyard.collectives;

import java.util.List;

/** A collective did not finish within the communicator's timeout; {@link #ranks()} did not deliver. */
public class CollectiveTimeoutException extends CollectiveException {
    private static final long serialVersionUID = 1L;

    public CollectiveTimeoutException(String message, List<Integer> ranks) {
        super(message, ranks, null);
    }
}
