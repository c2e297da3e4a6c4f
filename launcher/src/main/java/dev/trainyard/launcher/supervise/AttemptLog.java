package dev.trainyard.launcher.supervise;

import dev.trainyard.launcher.Console;
import dev.trainyard.launcher.observe.Rapl;

import dev.trainyard.runtime.RunLayout;
import com.google.gson.JsonObject;
import dev.trainyard.runtime.RunEvents;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code RUN_DIR/attempts-node-K.jsonl}: every attempt this node's launcher ran, with its start
 * and end, outcome, exit status, the failure's summary and the energy the machine's CPU packages
 * used meanwhile (when RAPL is readable). The run report's scrap and restart figures come from here.
 */
public final class AttemptLog {
    private final Path file;
    private final int node;
    private final int worldSize;
    private long startMicros;
    private long[][] energyAtStart;
    private final String[] energyNote = new String[1];

    private final Console console;

    AttemptLog(Path runDir, int node, int worldSize, Console console) {
        this.console = console;
        this.file = RunLayout.attempts(runDir, node);
        this.node = node;
        this.worldSize = worldSize;
    }

    /** Attempts recorded before this launch (a run continued with {@code --resume}); 0 for a new run. */
    int recorded() throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return (int) lines.filter(l -> !l.isBlank()).count();
        }
    }

    void started() {
        startMicros = RunEvents.micros(System.nanoTime());
        energyAtStart = Rapl.read(energyNote);
    }

    /** @param outcome ok, failed or stopped */
    void ended(int attempt, String outcome, int exitCode, String summary) {
        JsonObject a = new JsonObject();
        a.addProperty("attempt", attempt);
        a.addProperty("node", node);
        a.addProperty("world", worldSize);
        a.addProperty("start_us", startMicros);
        a.addProperty("end_us", RunEvents.micros(System.nanoTime()));
        a.addProperty("outcome", outcome);
        a.addProperty("exit_code", exitCode);
        a.addProperty("summary", summary);
        long[][] energyAtEnd = energyAtStart == null ? null : Rapl.read(energyNote);
        if (energyAtEnd != null && energyAtEnd.length == energyAtStart.length) {
            a.addProperty("energy_j", Rapl.joules(energyAtStart, energyAtEnd));
        } else {
            a.addProperty("energy_note", energyNote[0]);
        }
        try {
            Files.writeString(file, a + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            console.say("cannot record the attempt in " + file + " (" + e.getMessage() + "); the run report will lack it");
        }
    }
}
