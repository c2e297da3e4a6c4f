package dev.trainyard.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk costs the record, never the training: the kernel's {@code /dev/full} answers every write with ENOSPC,
 * exactly as a filled-up file system does, without root or a tmpfs to fill.
 */
class JsonLinesFileTest {
    @TempDir
    Path tmp;

    @Test
    void aFullDiskIsOneWarningNamingThePathAndEnospcAndAMarkerForTheReport() throws Exception {
        assumeTrue(Files.isWritable(Path.of("/dev/full")), "SKIPPED: no /dev/full on this system");
        Path file = Files.createSymbolicLink(tmp.resolve("metrics-rank-1.jsonl"), Path.of("/dev/full"));
        List<String> lines = LogCapture.of(JsonLinesFile.class, () -> {
            try (JsonLinesFile f = JsonLinesFile.append(file, "metrics")) {
                for (int step = 0; step < 10_000; step++) { // what a training loop does: never throws
                    f.write("{\"step\":" + step + "}", step % 100 == 99);
                }
                assertFalse(f.healthy());
            }
        });
        assertEquals(1, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).startsWith("WARNING cannot append to the metrics file " + file) && lines.get(0).contains("ENOSPC"), lines.get(0));
        assertTrue(Files.exists(tmp.resolve("metrics-rank-1.jsonl.incomplete")), "the marker the run report reads");
    }

    @Test
    void aNewAttemptStartsWithoutTheEarlierMarker() throws Exception {
        Path file = tmp.resolve("events-rank-0.jsonl");
        Files.createFile(JsonLinesFile.incompleteMarker(file));
        try (JsonLinesFile f = JsonLinesFile.append(file, "events")) {
            f.write("{}", true);
            assertTrue(f.healthy());
        }
        assertFalse(Files.exists(JsonLinesFile.incompleteMarker(file)));
        assertEquals("{}", Files.readString(file).strip());
    }
}
