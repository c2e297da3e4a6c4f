package dev.trainyard.collectives.host;

import com.google.common.util.concurrent.ListenableFuture;
import dev.trainyard.collectives.CollectiveTimeoutException;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.grpc.proto.PeerControlGrpc;
import dev.trainyard.collectives.grpc.proto.ProgressReply;
import dev.trainyard.collectives.grpc.proto.ProgressRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * Turns "my collective timed out" into "these ranks did not deliver": asks every peer which
 * collective it has started. A peer behind us has not called it; a peer that does not answer
 * is frozen, dead or cut off. Runs only on the failure path.
 */
final class TimeoutDiagnosis {
    static final Duration QUERY_DEADLINE = Duration.ofSeconds(2);

    private TimeoutDiagnosis() {
    }

    static CollectiveTimeoutException diagnose(int rank, int size, Fingerprint fp, Duration timeout, int waitingOn,
                                               IntFunction<PeerControlGrpc.PeerControlFutureStub> stubs,
                                               IntFunction<String> addresses) {
        List<ListenableFuture<ProgressReply>> replies = new ArrayList<>();
        for (int p = 0; p < size; p++) {
            replies.add(p == rank ? null : stubs.apply(p)
                    .withDeadlineAfter(QUERY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
                    .progress(ProgressRequest.newBuilder().setFromRank(rank).build()));
        }
        TreeSet<Integer> culprits = new TreeSet<>();
        StringBuilder why = new StringBuilder();
        for (int p = 0; p < size; p++) {
            if (p == rank) {
                continue;
            }
            try {
                ProgressReply reply = replies.get(p).get(QUERY_DEADLINE.toMillis() + 500, TimeUnit.MILLISECONDS);
                if (reply.getStartedSeq() < fp.seq()) {
                    culprits.add(p);
                    why.append("; rank ").append(p).append(" has not called it (last collective it started: ")
                            .append(reply.getStartedSeq() < 0 ? "none" : "#" + reply.getStartedSeq()).append(')');
                }
            } catch (Exception e) {
                culprits.add(p);
                // the address names the host, which is what an operator needs when a node is cut off
                why.append("; rank ").append(p).append(" at ").append(addresses.apply(p))
                        .append(" does not answer (frozen, dead or unreachable)");
            }
        }
        if (culprits.isEmpty() && waitingOn >= 0) {
            culprits.add(waitingOn);
            why.append("; all ranks have started it, rank ").append(waitingOn)
                    .append(" did not deliver its data in time (stalled, or the network is too slow for this timeout)");
        }
        String message = fp + " timed out after " + timeout.toMillis() + " ms on rank " + rank
                + (waitingOn >= 0 ? " waiting for rank " + waitingOn : "") + why
                + ". Ranks that did not deliver: " + culprits;
        return new CollectiveTimeoutException(message, List.copyOf(culprits));
    }
}
