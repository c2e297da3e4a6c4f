package dev.trainyard.runtime;

/**
 * How many steps the timeline records: {@code off}, {@code full} (every step) or {@code every:K}.
 * Stage and bucket timings are taken on every step anyway (a few clock reads); tracing only
 * decides which steps write them out, so {@code off} costs nothing beyond the metrics line.
 */
public final class Tracing {
    public static final String DEFAULT = "every:10";

    private Tracing() {
    }

    /** @return 0 for off, else trace every K-th step (1 = full) */
    public static int every(String text) {
        String t = text.strip();
        if (t.equals("off")) {
            return 0;
        }
        if (t.equals("full")) {
            return 1;
        }
        if (t.startsWith("every:")) {
            try {
                int k = Integer.parseInt(t.substring(6));
                if (k >= 1) {
                    return k;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a tracing mode; use off, full or every:K (K >= 1)");
    }

    /** This worker's setting, from the launcher ({@value #DEFAULT} when not set). */
    public static int fromEnvironment() {
        return every(WorkerContext.current().startup().trace());
    }
}
