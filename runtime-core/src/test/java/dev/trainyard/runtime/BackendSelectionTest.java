package dev.trainyard.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.store.InMemoryStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Ranks as threads agreeing on the backend through one store. */
class BackendSelectionTest {
    private static final NcclAvailability OK = new NcclAvailability(true, "NCCL 2.27.3 with 1 CUDA device", 1, "2.27.3");
    private static final NcclAvailability NO_GPU = new NcclAvailability(false, "no CUDA device is visible to this process", 0, "");

    private static List<BackendSelection.Choice> choose(Backend requested, List<NcclAvailability> verdicts) throws Exception {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(10));
        ExecutorService threads = Executors.newFixedThreadPool(verdicts.size());
        try {
            List<Future<BackendSelection.Choice>> fs = new ArrayList<>();
            for (int r = 0; r < verdicts.size(); r++) {
                int rank = r;
                fs.add(threads.submit(() -> BackendSelection.choose(requested, false, rank, verdicts.size(), store,
                        Duration.ofSeconds(10), verdicts.get(rank))));
            }
            List<BackendSelection.Choice> out = new ArrayList<>();
            for (Future<BackendSelection.Choice> f : fs) {
                out.add(f.get(20, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void autoPicksNcclOnlyWhenEveryRankCanUseIt() throws Exception {
        for (BackendSelection.Choice c : choose(Backend.AUTO, List.of(OK, OK, OK))) {
            assertEquals(Backend.NCCL, c.backend());
        }
        List<BackendSelection.Choice> mixed = choose(Backend.AUTO, List.of(OK, OK, NO_GPU));
        for (BackendSelection.Choice c : mixed) {
            assertEquals(Backend.GRPC, c.backend(), "every rank falls back together");
            assertEquals("backend auto: gRPC, because NCCL is unusable on rank 2: no CUDA device is visible to this process", c.why());
        }
    }

    @Test
    void forcedNcclOnARankThatCannotRunItFailsWithTheReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> BackendSelection.choose(Backend.NCCL, false, 1, 2,
                new InMemoryStore(Duration.ofSeconds(1)), Duration.ofSeconds(1), NO_GPU));
        assertEquals("rank 1: --backend nccl, but NCCL cannot be used here: no CUDA device is visible to this process. Use"
                + " --backend auto to fall back to gRPC, or fix the GPU setup", e.getMessage());
    }

    @Test
    void autoStaysOnGrpcUnderTlsAndAMissingRankIsNamed() {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(1));
        assertEquals(Backend.GRPC, BackendSelection.choose(Backend.AUTO, true, 0, 2, store, Duration.ofSeconds(1), OK).backend());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BackendSelection.choose(Backend.AUTO, false, 0, 2, store, Duration.ofMillis(200), OK));
        assertTrue(e.getMessage().contains("ranks [1] did not report whether they can use NCCL within 0 s"),
                e.getMessage());
    }
}
