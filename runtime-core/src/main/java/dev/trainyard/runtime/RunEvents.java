package dev.trainyard.runtime;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code RUN_DIR/events-rank-N.jsonl}: what happened on this worker besides training steps, one
 * JSON object a line, for the run report and the timeline: start-up phases (JVM start, engine
 * load, preflight, rendezvous), checkpoint writes, epochs, and metrics the job reports (e.g.
 * accuracy). Times are wall-clock microseconds so ranks on one machine line up. Outside the
 * launcher (a standalone {@link WorkerContext}) nothing is written.
 */
public final class RunEvents {
    private static final Logger LOG = LoggerFactory.getLogger(RunEvents.class);
    /** Wall clock at {@code nanoTime} 0, so monotonic timestamps become comparable across processes. */
    private static final long BASE_MICROS = System.currentTimeMillis() * 1000 - System.nanoTime() / 1000;
    private static JsonLinesFile out;
    private static String identity;
    private static boolean opened;

    private RunEvents() {
    }

    /** Wall-clock microseconds of a {@link System#nanoTime()} reading. */
    public static long micros(long nanoTime) {
        return BASE_MICROS + nanoTime / 1000;
    }

    /** A phase that ran from {@code startNanos} to {@code endNanos} (both {@link System#nanoTime()}). */
    public static void span(String name, long startNanos, long endNanos) {
        spanMicros(name, micros(startNanos), (endNanos - startNanos) / 1e9);
    }

    static void spanMicros(String name, long startMicros, double seconds) {
        write(String.format(Locale.ROOT, "{\"event\":\"span\",\"name\":\"%s\",\"t_us\":%d,\"dur_s\":%.6f", name, startMicros, seconds));
    }

    /** A value the job reports, e.g. {@code metric("accuracy", 0.86)} after an epoch. */
    public static void metric(String name, double value) {
        write(String.format(Locale.ROOT, "{\"event\":\"metric\",\"name\":\"%s\",\"value\":%s,\"t_us\":%d",
                name.replace("\"", "'"), Double.isFinite(value) ? Double.toString(value) : "null", micros(System.nanoTime())));
    }

    /** An epoch ended: how long it took and the samples this rank trained on. */
    public static void epoch(int epoch, double seconds, long samples) {
        write(String.format(Locale.ROOT, "{\"event\":\"epoch\",\"epoch\":%d,\"dur_s\":%.6f,\"samples\":%d,\"t_us\":%d",
                epoch, seconds, samples, micros(System.nanoTime())));
    }

    /**
     * What the job trains on; {@code synthetic}: generated, not real data (a missing dataset), so
     * the console and the report say that any accuracy it reaches means nothing about real data.
     */
    public static void dataset(String name, long samples, boolean synthetic) {
        write(String.format(Locale.ROOT, "{\"event\":\"dataset\",\"name\":\"%s\",\"samples\":%d,\"synthetic\":%s,\"t_us\":%d",
                name.replace("\"", "'"), samples, synthetic, micros(System.nanoTime())));
    }

    /** What the workers' collectives run on, so the console can say it once: {@code nccl}, or {@code grpc} and its transport. */
    public static void backend(String backend, String transport) {
        write(String.format(Locale.ROOT, "{\"event\":\"backend\",\"backend\":\"%s\",\"transport\":\"%s\",\"t_us\":%d",
                backend, transport, micros(System.nanoTime())));
    }

    /** The training plan, so progress can show step/total and an ETA. */
    public static void plan(int epochs, long stepsPerEpoch, long samplesPerStep) {
        write(String.format(Locale.ROOT, "{\"event\":\"plan\",\"epochs\":%d,\"steps_per_epoch\":%d,\"samples_per_step\":%d,\"t_us\":%d",
                epochs, stepsPerEpoch, samplesPerStep, micros(System.nanoTime())));
    }

    /** Appends {@code json} (an object missing its closing brace) with this worker's rank and attempt. */
    private static synchronized void write(String json) {
        if (!opened) {
            opened = true;
            out = open();
        }
        if (out == null) {
            return;
        }
        out.write(json + identity, true);
    }

    private static JsonLinesFile open() {
        WorkerContext ctx = WorkerContext.current();
        if (ctx.standalone()) {
            return null;
        }
        identity = ",\"rank\":" + ctx.rank() + ",\"attempt\":" + ctx.restartCount() + "}";
        try {
            Path file = RunLayout.events(ctx.runDir(), ctx.rank());
            return JsonLinesFile.append(file, "events");
        } catch (IOException e) {
            LOG.warn("cannot open the events file in {} ({})", ctx.runDir(), e.getMessage());
            return null;
        }
    }
}
