package dev.trainyard.launcher;

/** When workers run the preflight checks; the name is what {@code TRAINYARD_PREFLIGHT} carries. */
enum PreflightMode {
    /** Not at all ({@code --no-preflight}). */
    OFF,
    /** Before the user's main, on the first attempt only (restarts skip it). */
    FIRST,
    /** Instead of the user's main ({@code trainyard preflight}). */
    ONLY;

    String envValue() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
