package dev.trainyard.runtime.train;

import java.util.Locale;

/**
 * Where one optimizer step's time went on this rank, in seconds. The phases tile the step's wall
 * time ({@code wall}, from the end of the previous step to the end of this one): data wait, forward,
 * loss (between forward and backward: the loss and whatever the caller does there), backward,
 * other (between backward and {@code step()}), exposed communication and the optimizer.
 * {@code exposedComm} is the time {@code step()} waited for all-reduces still in flight:
 * communication that backward did not hide. {@code comm} is how long any all-reduce of the step was
 * in flight (launch to completion), hidden or not. {@code skipped}: the optimizer did not run because
 * some rank's gradients were non-finite. {@code trace} holds stage and bucket timings on traced steps
 * (null otherwise).
 */
public record StepMetrics(long step, long samples, double dataWait, double forward, double loss, double backward, double other,
                          double exposedComm, double optimizer, double comm, long bytesAllReduced, boolean skipped,
                          double wall, long endMicros, StepTrace trace) {

    /** Per-stage forward and backward seconds, and each bucket's all-reduce [start, end] in seconds from the step's start. */
    public record StepTrace(double[] forwardStages, double[] backwardStages, double[][] buckets) {
    }

    /** Share of the communication that ran behind backward: 1 - exposed / comm (0 without communication). */
    public double hiddenFraction() {
        return comm <= 0 ? 0 : Math.max(0, 1 - exposedComm / comm);
    }

    /** The sum of the phases; equals {@link #wall} up to the clock reads between them. */
    public double total() {
        return dataWait + forward + loss + backward + other + exposedComm + optimizer;
    }

    /**
     * One JSON line. Written once per step on the training thread, so it is built by hand: the same
     * text as {@code %.6f} formatting at a small fraction of {@link String#format}'s cost.
     */
    String toJson(int rank, int attempt) {
        StringBuilder sb = new StringBuilder(trace == null ? 360 : 640);
        sb.append("{\"rank\":").append(rank).append(",\"attempt\":").append(attempt).append(",\"step\":").append(step)
                .append(",\"samples\":").append(samples);
        seconds(sb, ",\"data_wait_s\":", dataWait);
        seconds(sb, ",\"forward_s\":", forward);
        seconds(sb, ",\"loss_s\":", loss);
        seconds(sb, ",\"backward_s\":", backward);
        seconds(sb, ",\"other_s\":", other);
        seconds(sb, ",\"exposed_comm_s\":", exposedComm);
        seconds(sb, ",\"optimizer_s\":", optimizer);
        seconds(sb, ",\"comm_s\":", comm);
        sb.append(",\"bytes_allreduced\":").append(bytesAllReduced).append(",\"skipped\":").append(skipped);
        seconds(sb, ",\"wall_s\":", wall);
        sb.append(",\"t_end_us\":").append(endMicros);
        if (trace != null) {
            array(sb.append(",\"forward_stages_s\":"), trace.forwardStages());
            array(sb.append(",\"backward_stages_s\":"), trace.backwardStages());
            sb.append(",\"buckets_s\":[");
            for (int i = 0; i < trace.buckets().length; i++) {
                array(sb.append(i == 0 ? "" : ","), trace.buckets()[i]);
            }
            sb.append(']');
        }
        return sb.append('}').toString();
    }

    private static void array(StringBuilder sb, double[] v) {
        sb.append('[');
        for (int i = 0; i < v.length; i++) {
            seconds(sb, i == 0 ? "" : ",", v[i]);
        }
        sb.append(']');
    }

    /** {@code key} then {@code v} with six decimals, as {@code %.6f} writes it. */
    static void seconds(StringBuilder sb, String key, double v) {
        sb.append(key);
        if (!Double.isFinite(v) || Math.abs(v) >= 9e12) {
            sb.append(String.format(Locale.ROOT, "%.6f", v));
            return;
        }
        long micros = Math.round(v * 1e6);
        if (micros < 0) {
            sb.append('-');
            micros = -micros;
        }
        long frac = micros % 1_000_000;
        sb.append(micros / 1_000_000).append('.');
        for (long d = 100_000; d > frac && d > 1; d /= 10) {
            sb.append('0');
        }
        sb.append(frac);
    }
}
