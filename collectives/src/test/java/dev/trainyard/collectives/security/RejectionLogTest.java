package dev.trainyard.collectives.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RejectionLogTest {
    private final AtomicLong now = new AtomicLong();
    private final RejectionLog log = new RejectionLog("rendezvous store", now::get);

    @Test
    void aFloodFromOneHostIsOneLineAMinuteWithItsCount() {
        int lines = 0;
        for (int i = 0; i < 10_000; i++) { // a new source port each time, as a flood has
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(5));
            if (log.refused(new InetSocketAddress("10.0.0.9", 40_000 + i % 20_000), "/Store/Set", "no proof") != null) {
                lines++;
            }
        }
        assertEquals(1, lines, "10,000 refusals in 50 s");
        now.addAndGet(TimeUnit.SECONDS.toNanos(11));
        String line = log.refused(new InetSocketAddress("10.0.0.9", 1), "/Store/Set", "no proof");
        assertNotNull(line, "a minute after the first line");
        assertTrue(line.startsWith("rendezvous store: refused /Store/Set from 10.0.0.9: no proof (and 9999 more"), line);
        assertNull(log.refused(new InetSocketAddress("10.0.0.9", 2), "/Store/Set", "no proof"));
    }

    @Test
    void eachSourceHasItsOwnMinute() {
        assertNotNull(log.refused(new InetSocketAddress("10.0.0.9", 1), "a connection", "bad hello"));
        assertNotNull(log.refused(new InetSocketAddress("10.0.0.10", 1), "a connection", "bad hello"));
        assertNull(log.refused(new InetSocketAddress("10.0.0.10", 2), "a connection", "bad hello"));
    }

    @Test
    void thousandsOfSourcesDoNotGrowItWithoutBound() {
        for (int i = 0; i < 3 * RejectionLog.MAX_SOURCES; i++) {
            now.addAndGet(TimeUnit.MILLISECONDS.toNanos(50));
            log.refused(new InetSocketAddress("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255), 1), "a connection", "x");
        }
        // every source logged once; none swallowed because the table was full
        assertNotNull(log.refused(new InetSocketAddress("192.168.1.1", 1), "a connection", "x"));
    }
}
