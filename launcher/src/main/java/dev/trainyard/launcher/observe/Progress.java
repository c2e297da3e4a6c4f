package dev.trainyard.launcher.observe;

import dev.trainyard.launcher.Console;

import dev.trainyard.runtime.RunLayout;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The launcher's one live progress line, aggregated over this node's ranks from the files they
 * append to: epoch, step of total, samples/s, ETA, the slowest rank and the last accuracy the job
 * reported. On a terminal it rewrites one line; otherwise it prints a line every
 * {@link #PLAIN_EVERY_MILLIS}. Reads only what was appended since the last look.
 */
public final class Progress implements AutoCloseable {
    private static final long TTY_EVERY_MILLIS = 1000;
    private static final long PLAIN_EVERY_MILLIS = 5_000;
    private static final int RECENT = 20;

    private final Path runDir;
    private final int firstRank;
    private final int ranks;
    private final boolean tty;
    private final Thread thread;
    private final long[] offsets;
    private final long[] eventOffsets;
    private final long[] lastStep;
    private final double[][] recentBusy;
    private final int[] recentCount;
    /** Per rank, {t_end_us, samples} of its recent steps. */
    private final List<ArrayDeque<double[]>> windows = new ArrayList<>();
    private long stepsPerEpoch;
    private int epochs;
    private String accuracy;
    /** A worker said its data is generated: said once on the console, and beside every accuracy. */
    private boolean synthetic;
    private boolean saidBackend;
    private String lastLine = "";
    private volatile boolean closed;
    /** The last figures, for the Prometheus endpoint. */
    private volatile double currentStep;
    private volatile double currentRate;
    private volatile double currentEta = Double.NaN;
    private volatile double slowestRank = Double.NaN;
    private volatile double slowestPct = Double.NaN;

    private final Console console;

    public Progress(Path runDir, int firstRank, int ranks, Console console) {
        this.console = console;
        this.runDir = runDir;
        this.firstRank = firstRank;
        this.ranks = ranks;
        this.tty = System.console() != null;
        this.offsets = new long[ranks];
        this.eventOffsets = new long[ranks];
        this.lastStep = new long[ranks];
        this.recentBusy = new double[ranks][RECENT];
        this.recentCount = new int[ranks];
        for (int r = 0; r < ranks; r++) {
            windows.add(new ArrayDeque<>());
        }
        this.thread = new Thread(this::loop, "trainyard-progress");
        thread.setDaemon(true);
    }

    public Progress start() {
        thread.start();
        return this;
    }

    /**
     * Reads the ranks' files at the terminal's pace (so a one-time line such as the synthetic-data
     * warning comes within a second, even in a short job) and prints the progress line at the
     * terminal's pace or, to a file or pipe, every {@value #PLAIN_EVERY_MILLIS} ms.
     */
    private void loop() {
        long printed = System.nanoTime();
        while (!closed) {
            try {
                Thread.sleep(TTY_EVERY_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            String line = poll();
            long now = System.nanoTime();
            if (!tty && now - printed < PLAIN_EVERY_MILLIS * 1_000_000L) {
                continue;
            }
            printed = now;
            if (line != null && !line.equals(lastLine)) {
                lastLine = line;
                if (tty) {
                    System.err.print("\r" + line + "\u001b[K"); // rewrite the line, clear what the last one left
                    System.err.flush();
                } else {
                    System.err.println(line);
                }
            }
        }
    }

    /** The current line, or null before the first step. */
    synchronized String poll() {
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            offsets[r] = readNew(RunLayout.metrics(runDir, firstRank + r), offsets[r], m -> step(rank, m));
            eventOffsets[r] = readNew(RunLayout.events(runDir, firstRank + r), eventOffsets[r], this::event);
        }
        long step = Long.MAX_VALUE;
        for (long s : lastStep) {
            step = Math.min(step, s);
        }
        if (step == 0) {
            return null;
        }
        // each rank's rate over its own recent steps (their ends are in that rank's clock order), summed
        double rate = 0;
        double stepSeconds = 0;
        for (ArrayDeque<double[]> w : windows) {
            if (w.size() > 1) {
                double seconds = (w.peekLast()[0] - w.peekFirst()[0]) / 1e6;
                rate += seconds > 0 ? w.stream().skip(1).mapToDouble(x -> x[1]).sum() / seconds : 0;
                stepSeconds = Math.max(stepSeconds, seconds / (w.size() - 1));
            }
        }
        currentStep = step;
        currentRate = rate;
        StringBuilder sb = new StringBuilder("trainyard: ");
        long total = stepsPerEpoch * epochs;
        if (total > 0) {
            sb.append(String.format(Locale.ROOT, "epoch %d/%d, step %d/%d", Math.min(epochs, step / Math.max(1, stepsPerEpoch) + 1), epochs, step, total));
        } else {
            sb.append("step ").append(step);
        }
        sb.append(String.format(Locale.ROOT, ", %,.0f samples/s", rate));
        if (total > 0 && stepSeconds > 0 && step < total) {
            long eta = Math.round((total - step) * stepSeconds);
            currentEta = eta;
            sb.append(String.format(Locale.ROOT, ", ETA %d:%02d", eta / 60, eta % 60));
        }
        if (ranks > 1) {
            int slowest = 0;
            double[] mean = new double[ranks];
            for (int r = 0; r < ranks; r++) {
                int n = Math.min(recentCount[r], RECENT);
                for (int i = 0; i < n; i++) {
                    mean[r] += recentBusy[r][i] / n;
                }
                slowest = mean[r] > mean[slowest] ? r : slowest;
            }
            double others = 0;
            for (int r = 0; r < ranks; r++) {
                others += r == slowest ? 0 : mean[r] / (ranks - 1);
            }
            slowestRank = firstRank + slowest;
            slowestPct = others > 0 ? (mean[slowest] / others - 1) * 100 : 0;
            sb.append(String.format(Locale.ROOT, ", slowest rank %d (%+.0f%%)", firstRank + slowest, slowestPct));
        }
        if (accuracy != null) {
            sb.append(", accuracy ").append(accuracy);
        }
        return sb.toString();
    }

    double step() {
        return currentStep;
    }

    double samplesPerSecond() {
        return currentRate;
    }

    double etaSeconds() {
        return currentEta;
    }

    double slowestRank() {
        return slowestRank;
    }

    double slowestRankPercent() {
        return slowestPct;
    }

    private void step(int r, JsonObject m) {
        lastStep[r] = m.get("step").getAsLong();
        // busy time: the step without exposed communication (there the others wait for the slowest)
        recentBusy[r][recentCount[r]++ % RECENT] = m.get("wall_s").getAsDouble() - m.get("exposed_comm_s").getAsDouble();
        ArrayDeque<double[]> w = windows.get(r);
        w.addLast(new double[] {m.get("t_end_us").getAsLong(), m.get("samples").getAsLong()});
        if (w.size() > RECENT) {
            w.removeFirst();
        }
    }

    private void event(JsonObject e) {
        String kind = e.get("event").getAsString();
        if (kind.equals("plan")) {
            epochs = e.get("epochs").getAsInt();
            stepsPerEpoch = e.get("steps_per_epoch").getAsLong();
        } else if (kind.equals("metric") && e.get("name").getAsString().equals("accuracy") && !e.get("value").isJsonNull()) {
            accuracy = String.format(Locale.ROOT, "%.3f", e.get("value").getAsDouble()) + (synthetic ? " on synthetic data" : "");
        } else if (kind.equals("backend") && !saidBackend) {
            saidBackend = true;
            String transport = e.get("transport").getAsString();
            console.say("collectives: " + e.get("backend").getAsString() + " backend" + (transport.equals("gpu") ? ", on the GPUs"
                    : ", tensors over " + transport + (transport.equals("shared-memory") ? " on this host (TCP between hosts)" : "")));
        } else if (kind.equals("dataset") && e.has("synthetic") && e.get("synthetic").getAsBoolean() && !synthetic) {
            synthetic = true;
            console.say("the job trains on SYNTHETIC data (" + e.get("name").getAsString()
                    + "): its accuracy says nothing about real data");
        }
    }

    /** Parses the complete lines appended to {@code file} since {@code offset}; returns the new offset. */
    private static long readNew(Path file, long offset, Consumer<JsonObject> each) {
        if (!Files.exists(file)) {
            return offset;
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            if (f.length() <= offset) {
                return offset;
            }
            byte[] bytes = new byte[(int) (f.length() - offset)];
            f.seek(offset);
            f.readFully(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8);
            int end = text.lastIndexOf('\n');
            if (end < 0) {
                return offset;
            }
            for (String line : text.substring(0, end).split("\n")) {
                try {
                    each.accept(JsonParser.parseString(line).getAsJsonObject());
                } catch (RuntimeException malformed) {
                    // a line from another writer version: not worth stopping progress for
                }
            }
            return offset + text.substring(0, end + 1).getBytes(StandardCharsets.UTF_8).length;
        } catch (IOException e) {
            return offset;
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        poll(); // what the workers wrote since the last read: a job shorter than one read still gets its one-time lines
        if (tty && !lastLine.isEmpty()) {
            System.err.println();
        }
    }
}
