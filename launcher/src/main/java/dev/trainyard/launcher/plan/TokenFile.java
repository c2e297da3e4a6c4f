package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;

import dev.trainyard.collectives.security.JobToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the shared job secret of a multi-node job. Refuses a file others can read (whoever reads
 * the token can join the job and see its data) and a token too short to resist guessing.
 */
public final class TokenFile {
    /** As strong as the token the launcher generates for one node. */
    static final int MIN_BITS = 256;

    private TokenFile() {
    }

    /**
     * An upper bound on the randomness a token can hold: 4 bits per character for hex digits,
     * 6 for anything else (base64's density; printable text carries less).
     */
    static int mostBits(String token) {
        boolean hex = token.chars().allMatch(c -> Character.digit(c, 16) >= 0);
        return token.length() * (hex ? 4 : 6);
    }

    public static JobToken read(Path file) {
        String fix = "; create it with: head -c 32 /dev/urandom | xxd -p -c 64 > " + file + " && chmod 600 " + file;
        if (!Files.isReadable(file)) {
            throw new UsageException("--token-file " + file + " cannot be read (missing or no permission)" + fix);
        }
        try {
            PrivateFile.requirePrivate("--token-file", file);
            JobToken token = JobToken.of(Files.readString(file, StandardCharsets.US_ASCII));
            int bits = mostBits(token.value());
            if (bits < MIN_BITS) {
                throw new UsageException("--token-file " + file + ": the job token's " + token.value().length()
                        + " characters carry at most " + bits + " bits of randomness; need " + MIN_BITS + fix);
            }
            return token;
        } catch (IOException e) {
            throw new UsageException("--token-file " + file + " cannot be read: " + e.getMessage() + fix, e);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--token-file " + file + ": " + e.getMessage(), e);
        }
    }
}
