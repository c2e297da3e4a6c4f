package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.RandomAccessDataset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DistributedSamplerTest {
    private static NDManager manager;

    @BeforeAll
    static void engine() {
        System.setProperty("ai.djl.offline", "true");
        manager = NDManager.newBaseManager();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static RandomAccessDataset dataset(int n) {
        return new ArrayDataset.Builder().setData(manager.zeros(new ai.djl.ndarray.types.Shape(n, 1))).setSampling(1, false).build();
    }

    private static List<List<Long>> batches(DistributedSampler s, RandomAccessDataset d) {
        List<List<Long>> out = new ArrayList<>();
        for (Iterator<List<Long>> it = s.sample(d); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    @Test
    void ranksTogetherMakeTheSingleProcessBatch() {
        RandomAccessDataset d = dataset(96);
        List<List<Long>> single = batches(new DistributedSampler(24, 0, 1, 3, true, DistributedSampler.Uneven.DROP), d);
        List<List<List<Long>>> perRank = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            perRank.add(batches(new DistributedSampler(8, r, 3, 3, true, DistributedSampler.Uneven.DROP), d));
        }
        assertEquals(4, single.size());
        for (int j = 0; j < single.size(); j++) {
            Set<Long> union = new HashSet<>();
            for (List<List<Long>> rank : perRank) {
                assertEquals(8, rank.get(j).size());
                union.addAll(rank.get(j));
            }
            assertEquals(new HashSet<>(single.get(j)), union, "batch " + j);
        }
    }

    @Test
    void unevenDataGivesEveryRankTheSameNumberOfBatches() {
        RandomAccessDataset d = dataset(103);
        for (DistributedSampler.Uneven mode : DistributedSampler.Uneven.values()) {
            Set<Integer> counts = new HashSet<>();
            Set<Long> seen = new HashSet<>();
            for (int r = 0; r < 4; r++) {
                List<List<Long>> b = batches(new DistributedSampler(10, r, 4, 1, true, mode), d);
                counts.add(b.size());
                b.forEach(seen::addAll);
            }
            assertEquals(1, counts.size(), mode + ": batch counts " + counts);
            if (mode == DistributedSampler.Uneven.PAD) {
                assertEquals(103, seen.size(), "PAD covers every sample");
                assertEquals(3, counts.iterator().next()); // ceil(26 / 10)
            } else {
                assertEquals(2, counts.iterator().next()); // floor(25 / 10)
            }
        }
    }

    @Test
    void eachEpochReshufflesAndResumeSkipsDoneBatches() {
        RandomAccessDataset d = dataset(64);
        DistributedSampler s = new DistributedSampler(8, 1, 2, 11, true, DistributedSampler.Uneven.DROP);
        List<List<Long>> epoch0 = batches(s, d);
        List<List<Long>> epoch1 = batches(s, d);
        assertNotEquals(epoch0, epoch1);
        assertEquals(2, s.nextEpoch());
        DistributedSampler resumed = new DistributedSampler(8, 1, 2, 11, true, DistributedSampler.Uneven.DROP);
        resumed.startAt(1, 3);
        assertEquals(epoch1.subList(3, epoch1.size()), batches(resumed, d));
    }
}
