package dev.trainyard.launcher;

import dev.trainyard.collectives.security.JobToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the shared job secret of a multi-node job. Refuses a file others can read: whoever
 * reads the token can join the job and see its data.
 */
final class TokenFile {
    private TokenFile() {
    }

    static JobToken read(Path file) {
        String fix = "; create it with: head -c 32 /dev/urandom | xxd -p -c 64 > " + file + " && chmod 600 " + file;
        if (!Files.isReadable(file)) {
            throw new UsageException("--token-file " + file + " cannot be read (missing or no permission)" + fix);
        }
        try {
            PrivateFile.requirePrivate("--token-file", file);
            return JobToken.of(Files.readString(file, StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UsageException("--token-file " + file + " cannot be read: " + e.getMessage() + fix, e);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--token-file " + file + ": " + e.getMessage(), e);
        }
    }
}
