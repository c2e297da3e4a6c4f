package dev.trainyard.runtime;

import java.util.Locale;

/** When workers run the preflight checks; the lower-case name is what the worker's environment carries. */
public enum PreflightMode {
    /** Not at all ({@code --no-preflight}, and every restart). */
    OFF,
    /** Before the user's main, on the first attempt only. */
    FIRST,
    /** Instead of the user's main ({@code trainyard preflight}). */
    ONLY;

    String envValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    static PreflightMode parse(String text) {
        for (PreflightMode m : values()) {
            if (m.envValue().equals(text.strip())) {
                return m;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a preflight mode; use off, first or only");
    }
}
