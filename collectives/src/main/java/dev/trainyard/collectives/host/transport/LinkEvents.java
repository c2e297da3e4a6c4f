package dev.trainyard.collectives.host.transport;

/** What links report to their communicator, from gRPC's threads. */
public interface LinkEvents {
    /** Something changed (frame arrived, send window opened): wake the collective thread. */
    void wake();

    /** The connection to or from {@code peer} broke while the peer had not closed gracefully. */
    void linkBroken(int peer, String reason, Throwable cause);
}
