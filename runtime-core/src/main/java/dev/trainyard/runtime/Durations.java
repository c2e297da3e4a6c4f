package dev.trainyard.runtime;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the durations users type: {@code 500ms}, {@code 30s}, {@code 5m}, {@code 2h}, or plain
 * seconds, up to {@link #MAX}.
 */
public final class Durations {
    /**
     * The longest wait Trainyard accepts: the rendezvous store refuses longer waits (a wait held
     * for days is a bug or an attack), so a longer timeout would only fail later, less clearly.
     */
    public static final Duration MAX = Duration.ofDays(1);
    private static final Pattern FORM = Pattern.compile("(\\d{1,12})(ms|s|m|h)?");

    private Durations() {
    }

    /** @throws IllegalArgumentException naming the text and the accepted forms */
    public static Duration parse(String text) {
        Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration; write e.g. 500ms, 30s, 5m or 2h");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration d = switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        };
        if (d.isZero()) {
            throw new IllegalArgumentException("duration '" + text + "' must be positive");
        }
        if (d.compareTo(MAX) > 0) {
            throw new IllegalArgumentException("duration '" + text + "' is longer than the 24h Trainyard accepts");
        }
        return d;
    }

    /** The inverse of {@link #parse} for values it produced (whole milliseconds). */
    public static String format(Duration d) {
        return d.toMillis() + "ms";
    }
}
