package dev.trainyard.launcher;

/** The job cannot go on (rendezvous failed, store lost): the launcher prints the message, stops its workers and exits 1. */
public final class LaunchFailedException extends RuntimeException {
    public LaunchFailedException(String message) {
        super(message);
    }

    public LaunchFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
