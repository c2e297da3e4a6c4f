package dev.trainyard.launcher;

import java.time.Duration;

/** The launcher's notion of time: its polling loops wait through this, so tests can run them without sleeping. */
public interface Clock {
    long nanoTime();

    /**
     * Waits {@code d}.
     *
     * @throws LaunchFailedException when the launcher's thread is interrupted (its interrupt flag stays set)
     */
    void sleep(Duration d);

    static Clock system() {
        return new Clock() {
            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public void sleep(Duration d) {
                try {
                    Thread.sleep(d.toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new LaunchFailedException("interrupted", e);
                }
            }
        };
    }
}
