package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.Fingerprint;

/** What an {@link Exchange} needs from its communicator while it waits. */
public interface CollectiveContext {
    /** The communicator's failure (local or reported by a peer), or null. */
    CollectiveException failure();

    /** Builds the error for {@code fp} timing out while waiting on {@code peer}, naming who did not deliver. */
    CollectiveException timedOut(Fingerprint fp, int waitingOn);
}
