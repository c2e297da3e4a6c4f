package dev.trainyard.runtime;

import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreAllGather;
import java.time.Duration;
import java.util.List;

/**
 * Turns the requested backend into the one every rank uses. {@code auto} picks NCCL only if every
 * rank's probe passed: each rank publishes its verdict in the store and reads all the others', so
 * the choice is the same everywhere even when nodes differ. {@code nccl} on a rank that cannot run
 * it fails at once with the probe's reason. Under mutual TLS {@code auto} stays on gRPC: NCCL's own
 * traffic between nodes is not encrypted.
 */
final class BackendSelection {
    /** The chosen backend and the one line that says why. */
    record Choice(Backend backend, String why) {
    }

    private BackendSelection() {
    }

    /** Each rank's reason NCCL cannot be used here (empty when it can), gathered under this prefix. */
    static final String VERDICTS = "backend/nccl-verdict/";

    static Choice choose(Backend requested, boolean encrypted, int rank, int worldSize, Store store, Duration timeout,
                         NcclAvailability local) {
        if (requested == Backend.GRPC) {
            return new Choice(Backend.GRPC, "backend grpc (requested)");
        }
        if (encrypted) {
            if (requested == Backend.NCCL) {
                throw new IllegalStateException("--backend nccl cannot be combined with mutual TLS: NCCL does not encrypt its traffic");
            }
            return new Choice(Backend.GRPC, "backend auto: gRPC, because the job uses mutual TLS and NCCL does not encrypt its traffic");
        }
        if (requested == Backend.NCCL) {
            if (!local.usable()) {
                throw new IllegalStateException("rank " + rank + ": --backend nccl, but NCCL cannot be used here: " + local.reason()
                        + ". Use --backend auto to fall back to gRPC, or fix the GPU setup");
            }
            return new Choice(Backend.NCCL, "backend nccl (requested): " + local.reason());
        }
        List<String> reasons;
        try {
            reasons = StoreAllGather.allGather(store, VERDICTS, rank, worldSize, local.usable() ? "" : local.reason(), timeout);
        } catch (StoreAllGather.MissingRanksException e) {
            throw new IllegalStateException("rank " + rank + ": choosing the backend, ranks " + e.missingRanks()
                    + " did not report whether they can use NCCL within " + timeout.toSeconds() + " s", e);
        }
        for (int r = 0; r < worldSize; r++) {
            String reason = reasons.get(r);
            if (!reason.isEmpty()) {
                return new Choice(Backend.GRPC, "backend auto: gRPC, because NCCL is unusable on rank " + r + ": " + reason);
            }
        }
        return new Choice(Backend.NCCL, "backend auto: NCCL on every rank (" + local.reason() + " on rank " + rank + ")");
    }
}
