package dev.trainyard.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An append-only record of lines (a worker's per-step metrics and run events, the launcher's copy of a
 * worker's output) that never stops training. Losing a record is
 * worth one line on stderr, not a job: the first write that fails (a full disk, a quota, a vanished directory)
 * prints a warning naming the file and the cause, stops further writes, and leaves an empty
 * {@code FILE.incomplete} beside it so the run report can say that the record ends early. An empty file needs no
 * data blocks, so it usually still fits on the disk that just filled up.
 */
public final class JsonLinesFile implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JsonLinesFile.class);
    public static final String INCOMPLETE_SUFFIX = ".incomplete";
    private final Path path;
    private final String what;
    private BufferedWriter out;

    private JsonLinesFile(Path path, String what, BufferedWriter out) {
        this.path = path;
        this.what = what;
        this.out = out;
    }

    /** Opens {@code path} for appending (creating its directory); a file that cannot be opened is the caller's error. */
    public static JsonLinesFile append(Path path, String what) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.deleteIfExists(incompleteMarker(path)); // an earlier attempt's gap is in its own lines, not this one's
        return new JsonLinesFile(path, what,
                Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    public static Path incompleteMarker(Path path) {
        return path.resolveSibling(path.getFileName() + INCOMPLETE_SUFFIX);
    }

    /** Appends one line; {@code flush} pushes it (and what was buffered) to the file now. */
    public void write(String line, boolean flush) {
        if (out == null) {
            return;
        }
        try {
            out.write(line);
            out.newLine();
            if (flush) {
                out.flush();
            }
        } catch (IOException e) {
            giveUp(e);
        }
    }

    public void flush() {
        whileHealthy(BufferedWriter::flush);
    }

    /** True while lines still reach the file. */
    public boolean healthy() {
        return out != null;
    }

    private void giveUp(IOException e) {
        BufferedWriter broken = out;
        out = null;
        LOG.warn("cannot append to the " + what + " file " + path + ": " + IoErrors.describe(e)
                + "; training goes on without it, and the run report marks it incomplete. Free space there (or point"
                + " --run-dir at a larger disk) for the next run");
        try {
            Files.createFile(incompleteMarker(path));
        } catch (IOException markerFailed) {
            // nothing left to write with; the warning above is the record
        }
        try {
            broken.close(); // flushes what it can; a full disk makes that fail again
        } catch (IOException ignored) {
            // the same failure, already reported
        }
    }

    @Override
    public void close() {
        whileHealthy(BufferedWriter::close);
        out = null;
    }

    private interface WriterAction {
        void apply(BufferedWriter w) throws IOException;
    }

    /** Runs {@code action} while lines still reach the file; its first failure gives the file up. */
    private void whileHealthy(WriterAction action) {
        if (out == null) {
            return;
        }
        try {
            action.apply(out);
        } catch (IOException e) {
            giveUp(e);
        }
    }
}
