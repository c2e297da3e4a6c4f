package dev.trainyard.runtime;

import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
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

    static String verdictKey(int rank) {
        return "backend/nccl-verdict/" + rank;
    }

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
        store.setString(verdictKey(rank), local.usable() ? "" : local.reason());
        List<String> keys = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            keys.add(verdictKey(r));
        }
        try {
            store.await(keys, timeout);
        } catch (StoreTimeoutException e) {
            throw new IllegalStateException("rank " + rank + ": choosing the backend, ranks did not report whether they can use NCCL"
                    + " within " + timeout.toSeconds() + " s: " + e.missingKeys(), e);
        }
        for (int r = 0; r < worldSize; r++) {
            String reason = store.getString(verdictKey(r), timeout);
            if (!reason.isEmpty()) {
                return new Choice(Backend.GRPC, "backend auto: gRPC, because NCCL is unusable on rank " + r + ": " + reason);
            }
        }
        return new Choice(Backend.NCCL, "backend auto: NCCL on every rank (" + local.reason() + " on rank " + rank + ")");
    }
}
