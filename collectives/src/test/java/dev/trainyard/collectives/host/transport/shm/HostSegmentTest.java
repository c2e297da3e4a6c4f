package dev.trainyard.collectives.host.transport.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host segment's counters and lines, three ranks as three mappings of one file in one thread: deterministic. */
class HostSegmentTest {
    private static final byte[] NONCE = new byte[MappedSegment.NONCE_BYTES];
    private static final Fingerprint SUM = new Fingerprint(4, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1000, -1);

    @TempDir
    Path dir;

    private HostSegment[] threeRanks() throws IOException {
        Path file = dir.resolve("segment");
        HostSegment first = HostSegment.create(file, 3, 4096, NONCE);
        return new HostSegment[] {first, HostSegment.open(file, 3, 4096, NONCE), HostSegment.open(file, 3, 4096, NONCE)};
    }

    @Test
    void aRoundIsCompleteOnlyWhenEveryRankArrivedAndTheLaggardIsNamed() throws IOException {
        HostSegment[] r = threeRanks();
        r[2].arrive(2, 1, SUM);
        r[0].arrive(0, 1, SUM);
        assertFalse(r[2].allArrived(1));
        assertEquals(1, r[0].firstMissing(1));
        r[1].arrive(1, 1, SUM);
        assertTrue(r[0].allArrived(1));
        assertEquals(-1, r[1].firstMissing(1));
        assertFalse(r[1].allArrived(2), "round 2 needs three more arrivals");
        assertEquals(0, r[1].firstMissing(2));
    }

    @Test
    void aRankThatJoinedForAnotherCollectiveIsNamedWithWhatItCalled() throws IOException {
        HostSegment[] r = threeRanks();
        Fingerprint other = new Fingerprint(4, CollectiveOp.ALL_REDUCE, ReduceOp.MAX, DataType.FLOAT64, 999, -1);
        r[0].arrive(0, 1, SUM);
        r[1].arrive(1, 1, other);
        r[2].arrive(2, 1, SUM);
        assertEquals(1, r[0].disagreeing(SUM, 1));
        assertEquals(other, r[0].fingerprintOf(1, 1));
        assertEquals(0, r[1].disagreeing(other, 1), "rank 1 sees the others differ from it");
    }

    @Test
    void aRankAlreadyInTheNextRoundDoesNotOverwriteWhatTheOthersStillCompare() throws IOException {
        HostSegment[] r = threeRanks();
        for (int k = 0; k < 3; k++) {
            r[k].arrive(k, 1, SUM);
        }
        Fingerprint next = new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1000, -1);
        r[0].arrive(0, 2, next); // rank 0 finished round 1 and started the next collective
        assertEquals(-1, r[2].disagreeing(SUM, 1), "round 1's fingerprints are intact");
    }

    @Test
    void everySliceIsClaimedOnceAcrossRanksAndOnlyTheLastFinishCompletesTheRound() throws IOException {
        HostSegment[] r = threeRanks();
        Set<Integer> claimed = new HashSet<>();
        int finishedLast = 0;
        for (int i = 0; ; i = (i + 1) % 3) {
            int s = r[i].claim(0, 7);
            if (s < 0) {
                break;
            }
            assertTrue(claimed.add(s), "slice " + s + " claimed twice");
            finishedLast += r[i].finishSlice(7) ? 1 : 0;
        }
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6), claimed);
        assertEquals(1, finishedLast);
        // the next round numbers its slices after this one's
        assertEquals(0, r[1].claim(7, 2));
        assertEquals(1, r[2].claim(7, 2));
        assertEquals(-1, r[0].claim(7, 2));
        assertFalse(r[0].finishSlice(9));
        assertTrue(r[1].finishSlice(9));
    }

    @Test
    void aSleeperIsWokenOnceAndNeverSleepsThroughADoneRound() throws IOException {
        HostSegment[] r = threeRanks();
        assertTrue(r[1].sleeps(1, 1), "round 1 is not done: sleep");
        assertTrue(r[0].needsWaking(1));
        assertFalse(r[2].needsWaking(1), "one wake-up, not one per rank");
        assertFalse(r[0].needsWaking(2), "rank 2 never slept");
        r[0].roundDone(1);
        assertTrue(r[2].isDone(1));
        assertFalse(r[2].sleeps(2, 1), "the round is done already: do not sleep");
        r[2].awake(2);
        assertFalse(r[0].needsWaking(2));
    }

    @Test
    void theFirstRankToPoisonItStaysNamed() throws IOException {
        HostSegment[] r = threeRanks();
        assertEquals(-1, r[0].poisonedBy());
        r[2].poison(2);
        r[0].poison(0);
        assertEquals(2, r[1].poisonedBy());
    }

    @Test
    void aFileOfAnotherLayoutOrNonceIsRefused() throws IOException {
        Path file = dir.resolve("segment");
        HostSegment.create(file, 3, 4096, NONCE);
        assertThrows(IOException.class, () -> HostSegment.open(file, 4, 4096, NONCE), "other group size");
        byte[] otherNonce = NONCE.clone();
        otherNonce[0] = 1;
        assertThrows(IOException.class, () -> HostSegment.open(file, 3, 4096, otherNonce), "other nonce");
    }
}
