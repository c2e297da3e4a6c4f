package dev.trainyard.launcher;

/** Bad input: the launcher prints the message as one line and exits with status 2 before starting anything. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }

    UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
