package dev.trainyard.launcher.supervise;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * What the previous job launched on this host by this user came to, kept in the user cache
 * ({@code last-run-failed}, present only after a failure): after a failed run the next launch's
 * quick preflight becomes the full one, every ring link measured, since a slow or broken link
 * is one of the things that fail runs. A run that succeeds clears it; one stopped by the user
 * leaves it as it was.
 */
final class HostHistory {
    private final Path marker;

    HostHistory(Path cacheDir) {
        this.marker = cacheDir.resolve("last-run-failed");
    }

    /** The failed run's directory and why it failed, if the previous run here failed. */
    Optional<String> previousFailure() {
        try {
            return Files.isRegularFile(marker) ? Optional.of(Files.readString(marker, StandardCharsets.UTF_8).strip()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    void succeeded() {
        try {
            Files.deleteIfExists(marker);
        } catch (IOException ignored) {
            // the next launch runs the full checks once more: slower, not wrong
        }
    }

    void failed(Path runDir, String why) {
        try {
            Files.createDirectories(marker.getParent());
            Path tmp = Files.createTempFile(marker.getParent(), ".last-run-failed", ".tmp");
            Files.writeString(tmp, runDir.toAbsolutePath() + ": " + why, StandardCharsets.UTF_8);
            Files.move(tmp, marker, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException ignored) {
            // without a cache the next launch keeps the quick checks
        }
    }
}
