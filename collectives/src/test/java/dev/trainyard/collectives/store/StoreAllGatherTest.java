package dev.trainyard.collectives.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StoreAllGatherTest {
    @Test
    void everyRankGetsEveryValueInRankOrder() throws Exception {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(5));
        List<CompletableFuture<List<String>>> ranks = List.of(0, 1, 2).stream()
                .map(r -> CompletableFuture.supplyAsync(() -> StoreAllGather.allGather(store, "x/", r, 3, "v" + r, Duration.ofSeconds(5))))
                .toList();
        for (CompletableFuture<List<String>> r : ranks) {
            assertEquals(List.of("v0", "v1", "v2"), r.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aTimeoutNamesEveryRankThatDidNotPublish() {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(5));
        store.setString("x/2", "early");
        StoreAllGather.MissingRanksException e = assertThrows(StoreAllGather.MissingRanksException.class,
                () -> StoreAllGather.allGather(store.prefixed("job/"), "x/", 0, 4, "v0", Duration.ofMillis(100)));
        assertEquals(List.of(1, 2, 3), e.missingRanks(), "x/2 outside the job's prefix does not count");
    }
}
