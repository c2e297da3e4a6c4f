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

    String toJson(int rank, int attempt) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "{\"rank\":%d,\"attempt\":%d,\"step\":%d,\"samples\":%d,\"data_wait_s\":%.6f,\"forward_s\":%.6f,\"loss_s\":%.6f,"
                        + "\"backward_s\":%.6f,\"other_s\":%.6f,\"exposed_comm_s\":%.6f,\"optimizer_s\":%.6f,\"comm_s\":%.6f,"
                        + "\"bytes_allreduced\":%d,\"skipped\":%b,\"wall_s\":%.6f,\"t_end_us\":%d",
                rank, attempt, step, samples, dataWait, forward, loss, backward, other, exposedComm, optimizer, comm,
                bytesAllReduced, skipped, wall, endMicros));
        if (trace != null) {
            sb.append(",\"forward_stages_s\":").append(array(trace.forwardStages()))
                    .append(",\"backward_stages_s\":").append(array(trace.backwardStages())).append(",\"buckets_s\":[");
            for (int i = 0; i < trace.buckets().length; i++) {
                sb.append(i == 0 ? "" : ",").append(array(trace.buckets()[i]));
            }
            sb.append(']');
        }
        return sb.append('}').toString();
    }

    private static String array(double[] v) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.6f", v[i]));
        }
        return sb.append(']').toString();
    }
}
