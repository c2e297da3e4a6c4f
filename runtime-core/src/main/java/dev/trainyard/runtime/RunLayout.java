package dev.trainyard.runtime;

import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * The one owner of a run directory's file names, for the workers that write them (trainer, run
 * events, error files) and the launcher that writes its own and reads them all (progress, attempt
 * log, report). A new file gets its name here, not as a literal at each end.
 */
public final class RunLayout {
    /** Per-step timings of rank N ({@code DistributedTrainer}). */
    public static final String METRICS = "metrics-rank-";
    /** Start-up spans, epochs, metrics and the dataset of rank N ({@link RunEvents}). */
    public static final String EVENTS = "events-rank-";
    /** Every attempt of node K (the launcher's attempt log). */
    public static final String ATTEMPTS = "attempts-node-";
    public static final String JSON_LINES = ".jsonl";

    private RunLayout() {
    }

    public static Path metrics(Path runDir, int rank) {
        return runDir.resolve(METRICS + rank + JSON_LINES);
    }

    public static Path events(Path runDir, int rank) {
        return runDir.resolve(EVENTS + rank + JSON_LINES);
    }

    public static Path attempts(Path runDir, int node) {
        return runDir.resolve(ATTEMPTS + node + JSON_LINES);
    }

    /** The worker's output, every attempt appended (written by the launcher). */
    public static Path log(Path runDir, int rank) {
        return runDir.resolve("rank-" + rank + ".log");
    }

    /** The stack trace that ended a worker ({@link ErrorFile}). */
    public static Path error(Path runDir, int rank) {
        return runDir.resolve("error-rank-" + rank + ".txt");
    }

    /** What the launcher's console said about attempt K's failure. */
    public static Path failure(Path runDir, int attempt) {
        return runDir.resolve("failure-attempt-" + attempt + ".txt");
    }

    public static Path reportJson(Path runDir) {
        return runDir.resolve("report.json");
    }

    public static Path reportHtml(Path runDir) {
        return runDir.resolve("report.html");
    }

    public static Path timeline(Path runDir) {
        return runDir.resolve("timeline.json");
    }

    /** Where the examples keep their checkpoints. */
    public static Path checkpoints(Path runDir) {
        return runDir.resolve("checkpoints");
    }

    /** The index N of a {@code PREFIX + N + .jsonl} file name, or empty for any other name. */
    public static OptionalInt index(String fileName, String prefix) {
        if (!fileName.startsWith(prefix) || !fileName.endsWith(JSON_LINES)) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(Integer.parseInt(fileName.substring(prefix.length(), fileName.length() - JSON_LINES.length())));
        } catch (NumberFormatException e) {
            return OptionalInt.empty();
        }
    }
}
