package dev.trainyard.runtime.train;

import java.util.Locale;

/**
 * Where one optimizer step's time went on this rank, in seconds. {@code exposedComm} is the time
 * {@code step()} waited for all-reduces still in flight: communication that backward did not hide.
 */
public record StepMetrics(long step, long samples, double dataWait, double forward, double backward,
                          double exposedComm, double optimizer, long bytesAllReduced) {

    public double total() {
        return dataWait + forward + backward + exposedComm + optimizer;
    }

    String toJson(int rank) {
        return String.format(Locale.ROOT, "{\"rank\":%d,\"step\":%d,\"samples\":%d,\"data_wait_s\":%.6f,\"forward_s\":%.6f,"
                        + "\"backward_s\":%.6f,\"exposed_comm_s\":%.6f,\"optimizer_s\":%.6f,\"bytes_allreduced\":%d}",
                rank, step, samples, dataWait, forward, backward, exposedComm, optimizer, bytesAllReduced);
    }
}
