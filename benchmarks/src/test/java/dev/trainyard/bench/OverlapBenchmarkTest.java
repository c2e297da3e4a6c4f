package dev.trainyard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class OverlapBenchmarkTest {
    /** Both modes run for real (2 workers under the launcher, loopback) and land in the JSON and the stacked-bar SVG. */
    @Test
    void measuresOverlapOnAndOffAndPlotsTheBreakdown(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("overlap.json");
        int rc = new CommandLine(new OverlapBenchmark()).execute("--model", "mlp", "--steps", "10", "--warmup", "3",
                "--repeat", "1", "--json", json.toString());
        assertEquals(0, rc);
        String text = Files.readString(json);
        assertTrue(text.matches("(?s).*\\{\"overlap\":true,\"samples_per_s\":[1-9][0-9.]*,.*\\{\"overlap\":false,\"samples_per_s\":[1-9].*"), text);
        assertTrue(text.contains("\"comm_s\":0.0") && !text.contains("\"comm_s\":0.000000"), "communication was measured: " + text);
        String svg = Files.readString(dir.resolve("overlap.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("exposed comm") && svg.contains("overlap off"), svg);
    }

    @Test
    void linkNeedsAValidRate() {
        int rc = new CommandLine(new OverlapBenchmark()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            assertTrue(e.getMessage().contains("'fast' is not a link rate"), e.getMessage());
            return 2;
        }).execute("--link", "fast");
        assertEquals(2, rc);
    }
}
