package dev.trainyard.runtime;

import java.util.Locale;

/** When workers run the preflight checks; the lower-case name is what the worker's environment carries. */
public enum PreflightMode {
    /** Not at all ({@code --no-preflight}, and every restart). */
    OFF,
    /**
     * Before the user's main, on the first attempt only, the quick checks: everything that can stop
     * a job (Java, engine, backend, disk, dataset, peers, one checked all-reduce) but not the
     * bandwidth of every ring link, which takes a connection and a timed all-reduce per link.
     */
    FIRST,
    /** As {@link #FIRST}, and every ring link's bandwidth ({@code launch --preflight full}). */
    FIRST_FULL,
    /** Instead of the user's main, every check ({@code trainyard preflight}). */
    ONLY;

    String envValue() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the checks include measuring every ring link. */
    public boolean measuresLinks() {
        return this == FIRST_FULL || this == ONLY;
    }

    static PreflightMode parse(String text) {
        for (PreflightMode m : values()) {
            if (m.envValue().equals(text.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a preflight mode; use off, first, first-full or only");
    }
}
