package dev.trainyard.launcher.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Energy from RAPL counters: the arithmetic (with a counter wrap), and an honest reason where there are none. */
class RaplTest {
    @Test
    void joulesAcrossPackagesAndAWrap() {
        long[][] before = {{1_000_000, 10_000_000}, {9_500_000, 10_000_000}};
        long[][] after = {{3_500_000, 10_000_000}, {500_000, 10_000_000}}; // package 1 wrapped at 10 J
        assertEquals(2.5 + 1.0, Rapl.joules(before, after), 1e-9);
    }

    @Test
    void saysWhyWhenThereAreNoCounters() {
        String[] why = new String[1];
        long[][] readings = Rapl.read(why);
        if (readings == null) {
            assertNotNull(why[0]);
            assertTrue(why[0].contains("/sys/class/powercap"), why[0]);
        } else {
            assertTrue(Files.isDirectory(Path.of("/sys/class/powercap")) && readings.length > 0);
        }
    }
}
