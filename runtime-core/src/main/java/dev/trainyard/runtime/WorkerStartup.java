package dev.trainyard.runtime;

import java.util.Optional;

/**
 * What the launcher asks of a worker JVM besides its place in the job: checks before the user's
 * main, the timeline's sampling, and the one GPU it may see.
 *
 * @param minFreeDisk    free bytes preflight requires in the run directory
 * @param trace          which steps the timeline records: off, full or every:K ({@link Tracing})
 * @param visibleDevices the worker's {@code CUDA_VISIBLE_DEVICES}: pinned before the JVM starts, so
 *                       CUDA in the worker only ever sees its own device; empty on CPU
 */
public record WorkerStartup(PreflightMode preflight, long minFreeDisk, String trace, Optional<String> visibleDevices) {
    /** No preflight, the default timeline, no GPU pinning. */
    public static WorkerStartup defaults() {
        return new WorkerStartup(PreflightMode.OFF, 0, Tracing.DEFAULT, Optional.empty());
    }
}
