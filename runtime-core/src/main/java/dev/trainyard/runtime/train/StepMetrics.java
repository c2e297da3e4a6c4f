package dev.trainyard.runtime.train;

import java.util.Locale;

/**
 * Where one optimizer step's time went on this rank, in seconds. {@code exposedComm} is the time
 * {@code step()} waited for all-reduces still in flight: communication that backward did not hide.
 * {@code comm} is how long any all-reduce of the step was in flight (launch to completion), hidden or not.
 * {@code skipped}: the optimizer did not run because some rank's gradients were non-finite.
 */
public record StepMetrics(long step, long samples, double dataWait, double forward, double backward,
                          double exposedComm, double optimizer, double comm, long bytesAllReduced, boolean skipped) {

    /** Share of the communication that ran behind backward: 1 - exposed / comm (0 without communication). */
    public double hiddenFraction() {
        return comm <= 0 ? 0 : Math.max(0, 1 - exposedComm / comm);
    }

    public double total() {
        return dataWait + forward + backward + exposedComm + optimizer;
    }

    String toJson(int rank) {
        return String.format(Locale.ROOT, "{\"rank\":%d,\"step\":%d,\"samples\":%d,\"data_wait_s\":%.6f,\"forward_s\":%.6f,"
                        + "\"backward_s\":%.6f,\"exposed_comm_s\":%.6f,\"optimizer_s\":%.6f,\"comm_s\":%.6f,\"bytes_allreduced\":%d,\"skipped\":%b}",
                rank, step, samples, dataWait, forward, backward, exposedComm, optimizer, comm, bytesAllReduced, skipped);
    }
}
