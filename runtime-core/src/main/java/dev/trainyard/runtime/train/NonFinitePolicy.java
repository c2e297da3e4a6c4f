package dev.trainyard.runtime.train;

/** What a step does when a gradient holds NaN or infinity on some rank. */
public enum NonFinitePolicy {
    /** Every rank skips the optimizer step (gradients zeroed), counts it and warns, naming the rank and parameter. */
    SKIP_STEP,
    /** The step fails with an error naming the rank and parameter. */
    FAIL,
    /** No check (saves one pass over the gradients per step). */
    OFF
}
