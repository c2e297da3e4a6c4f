package dev.trainyard.collectives;

import dev.trainyard.collectives.security.JobToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Names of a job's shared-memory segments. Ranks unlink their segments as soon as the peer has
 * mapped them; a rank killed in that window leaves its file behind, so the launcher, which holds
 * the same job token, removes every file with the job's prefix when an attempt ends. The prefix is
 * a hash of the token: it identifies the job without revealing the token to anyone listing
 * {@code /dev/shm}.
 */
public final class SharedMemoryFiles {
    public static final Path DIRECTORY = Path.of("/dev/shm");

    private SharedMemoryFiles() {
    }

    /** {@code trainyard-<16 hex digits of SHA-256(token)>-}. */
    public static String prefix(JobToken token) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(token.value().getBytes(StandardCharsets.UTF_8));
            return "trainyard-" + HexFormat.of().formatHex(h, 0, 8) + "-";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** Deletes the job's files left in {@link #DIRECTORY}; returns how many there were. */
    public static int removeLeftovers(JobToken token) {
        return removeLeftovers(DIRECTORY, token);
    }

    static int removeLeftovers(Path dir, JobToken token) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix(token) + "*")) {
            for (Path f : files) {
                if (Files.deleteIfExists(f)) {
                    removed++;
                }
            }
        } catch (IOException e) {
            // nothing we can do about a directory we cannot list; segments are owner-only anyway
        }
        return removed;
    }
}
