package dev.trainyard.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ScalingBenchmarkTest {
    /** End to end with a handful of steps: Trainyard under its launcher (1 and 2 workers), the ceiling row and the plain DJL baseline. */
    @Test
    void measuresEveryConfigurationAndWritesJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("scaling.json");
        int rc = new CommandLine(new ScalingBenchmark()).execute("--nproc", "1,2", "--steps", "10", "--warmup", "3",
                "--repeat", "1", "--compare", "djl", "--ceiling", "--optimizer", "sgd", "--json", json.toString());
        assertEquals(0, rc);
        String text = Files.readString(json);
        Matcher m = Pattern.compile("\\{\"system\":\"(\\w+)\",\"workers\":(\\d),\"samples_per_s\":([0-9.]+)").matcher(text);
        StringBuilder seen = new StringBuilder();
        while (m.find()) {
            assertTrue(Double.parseDouble(m.group(3)) > 0, text);
            seen.append(m.group(1)).append('/').append(m.group(2)).append(' ');
        }
        assertEquals("trainyard/1 djl/1 trainyard/2 ceiling/2 ", seen.toString(), text);
        assertTrue(text.contains("\"exposed_comm_s\"") && text.contains("\"optimizer\":\"sgd\"") && text.contains("\"samples_per_s_each_repeat\":["), text);
        String svg = Files.readString(dir.resolve("scaling.svg"));
        assertTrue(svg.startsWith("<svg") && svg.contains("2 workers") && svg.contains("djl"), svg);
    }

    /** An unknown model ends the benchmark before any process starts, with one line naming the choices, exit 2. */
    @Test
    void anUnknownModelIsOneLineAndExitTwo() {
        java.io.StringWriter err = new java.io.StringWriter();
        CommandLine cli = BenchCli.commandLine(new ScalingBenchmark());
        cli.setErr(new java.io.PrintWriter(err, true));
        assertEquals(2, cli.execute("--model", "pigeon", "--nproc", "1"));
        assertEquals("trainyard bench scaling: unknown --model 'pigeon'; choose one of mlp, mlp-wide, cnn, resnet, gpt", err.toString().strip());
    }
}
