package dev.trainyard.collectives.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Logs refused connections and calls at most once per source address per minute, with how many were refused
 * since the last line. A flood of bad connections would otherwise write a line each (a disk's worth an hour) and
 * bury the one line that matters. The source is the address without the port: a flood opens a new port each time.
 */
public final class RejectionLog {
    static final long WINDOW_NANOS = TimeUnit.MINUTES.toNanos(1);
    /** Sources remembered at once; past that, windows that ended are forgotten (their counts were logged or are lost). */
    static final int MAX_SOURCES = 4096;
    private static final Logger LOG = LoggerFactory.getLogger(RejectionLog.class);

    private final String where;
    private final LongSupplier nanoClock;
    private final Map<String, Window> windows = new HashMap<>();

    /** @param where who refuses, e.g. "rendezvous store" or "data plane of rank 3" */
    public RejectionLog(String where) {
        this(where, System::nanoTime);
    }

    RejectionLog(String where, LongSupplier nanoClock) {
        this.where = where;
        this.nanoClock = nanoClock;
    }

    private static final class Window {
        long start;
        long suppressed;
    }

    /** Records one refusal of {@code what} from {@code from} for {@code why}; returns the line logged, or null. */
    public String refused(SocketAddress from, String what, String why) {
        return refused(source(from), what, why);
    }

    /** As above, for a source known only by a description (e.g. a connection whose address the library does not report). */
    public String refused(String source, String what, String why) {
        long now = nanoClock.getAsLong();
        long earlier;
        synchronized (windows) {
            Window w = windows.get(source);
            if (w != null && now - w.start < WINDOW_NANOS) {
                w.suppressed++;
                return null;
            }
            if (w == null) {
                if (windows.size() >= MAX_SOURCES) {
                    forgetEnded(now);
                }
                w = new Window();
                windows.put(source, w);
            }
            earlier = w.suppressed;
            w.start = now;
            w.suppressed = 0;
        }
        String line = where + ": refused " + what + " from " + source + ": " + why
                + (earlier > 0 ? " (and " + earlier + " more from there in the minute before; one line per source per minute)" : "");
        LOG.warn(line);
        return line;
    }

    private void forgetEnded(long now) {
        for (Iterator<Window> it = windows.values().iterator(); it.hasNext(); ) {
            if (now - it.next().start >= WINDOW_NANOS) {
                it.remove();
            }
        }
        if (windows.size() >= MAX_SOURCES) { // every window is live: a flood from thousands of addresses
            windows.clear();
        }
    }

    private static String source(SocketAddress from) {
        if (from instanceof InetSocketAddress isa) {
            InetAddress a = isa.getAddress();
            return a != null ? a.getHostAddress() : isa.getHostString();
        }
        return String.valueOf(from);
    }
}
