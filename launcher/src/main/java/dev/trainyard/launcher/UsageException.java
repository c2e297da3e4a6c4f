package dev.trainyard.launcher;

/** Bad input: the launcher prints the message as one line and exits with status 2 before starting anything. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }

    public UsageException(String message, Throwable cause) {
        super(message, cause);
    }
}
