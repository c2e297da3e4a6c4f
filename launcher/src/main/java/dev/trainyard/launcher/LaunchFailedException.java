package dev.trainyard.launcher;

/** The job cannot go on (rendezvous failed, store lost): the launcher prints the message, stops its workers and exits 1. */
final class LaunchFailedException extends RuntimeException {
    LaunchFailedException(String message) {
        super(message);
    }

    LaunchFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
