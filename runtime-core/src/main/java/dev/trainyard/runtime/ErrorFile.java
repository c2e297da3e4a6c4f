package dev.trainyard.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * {@code RUN_DIR/error-rank-N.txt}: the full stack trace of the exception that ended a worker,
 * written by {@link WorkerMain} and read by the launcher, so the cause reaches the console and the
 * failure record even when the worker printed more than a log tail after it (or nothing at all).
 * Like torchelastic's error file; written atomically so the launcher never reads half of one.
 */
public final class ErrorFile {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorFile.class);
    private ErrorFile() {
    }

    public static Path of(Path runDir, int rank) {
        return RunLayout.error(runDir, rank);
    }

    static void write(Path file, String context, Throwable error) {
        StringWriter text = new StringWriter();
        text.append(context).append(System.lineSeparator());
        error.printStackTrace(new PrintWriter(text));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.writeString(tmp, text.toString(), StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.error("cannot write {} ({}); the stack trace is above", file, e.getMessage());
        }
    }

    /** The recorded error's lines, if this rank left one. */
    public static Optional<List<String>> read(Path file) {
        try {
            return Files.isRegularFile(file) ? Optional.of(Files.readAllLines(file, StandardCharsets.UTF_8)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
