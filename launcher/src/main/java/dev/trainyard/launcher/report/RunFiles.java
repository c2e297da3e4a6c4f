package dev.trainyard.launcher.report;

import dev.trainyard.runtime.RunLayout;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.trainyard.runtime.JsonLinesFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * What a run directory holds, parsed: per-step metrics and events of every rank
 * ({@code metrics-rank-N.jsonl}, {@code events-rank-N.jsonl}) and every node's attempts
 * ({@code attempts-node-K.jsonl}). A line cut short by a killed process is skipped, not fatal. {@code incomplete}
 * names the records that stopped early (metrics, events, a rank's log: a full disk left {@code FILE.incomplete} beside them).
 */
public record RunFiles(Path dir, Map<Integer, List<JsonObject>> metrics, Map<Integer, List<JsonObject>> events, List<JsonObject> attempts,
                List<String> incomplete) {

    static RunFiles load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a run directory (it does not exist)");
        }
        List<JsonObject> attempts = new ArrayList<>();
        perIndex(dir, RunLayout.ATTEMPTS).values().forEach(attempts::addAll);
        List<String> incomplete = new ArrayList<>();
        try (DirectoryStream<Path> markers = Files.newDirectoryStream(dir, "*" + JsonLinesFile.INCOMPLETE_SUFFIX)) {
            for (Path m : markers) {
                String name = m.getFileName().toString();
                incomplete.add(name.substring(0, name.length() - JsonLinesFile.INCOMPLETE_SUFFIX.length()));
            }
        }
        incomplete.sort(null);
        return new RunFiles(dir, perIndex(dir, RunLayout.METRICS), perIndex(dir, RunLayout.EVENTS), attempts, List.copyOf(incomplete));
    }

    private static Map<Integer, List<JsonObject>> perIndex(Path dir, String prefix) throws IOException {
        Map<Integer, List<JsonObject>> out = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix + "*" + RunLayout.JSON_LINES)) {
            for (Path f : files) {
                // a stray file matching the pattern (metrics-rank-old.jsonl) is not a rank's record: skipped
                OptionalInt index = RunLayout.index(f.getFileName().toString(), prefix);
                if (index.isPresent()) {
                    out.put(index.getAsInt(), lines(f));
                }
            }
        }
        return out;
    }

    private static List<JsonObject> lines(Path f) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            try {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            } catch (RuntimeException truncated) {
                // the last line of a worker killed mid-write
            }
        }
        return out;
    }

    /** Events named {@code name} (spans, metrics) of {@code rank}. */
    List<JsonObject> events(int rank, String event, String name) {
        return events.getOrDefault(rank, List.of()).stream()
                .filter(e -> e.get("event").getAsString().equals(event) && (name == null || name.equals(str(e, "name"))))
                .toList();
    }

    static String str(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsString() : null;
    }

    static double num(JsonObject o, String key) {
        return o.has(key) && !o.get(key).isJsonNull() ? o.get(key).getAsDouble() : 0;
    }
}
