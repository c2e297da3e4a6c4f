package dev.trainyard.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** What a writer names, the reader finds: each per-rank or per-node file's index reads back from its name. */
class RunLayoutTest {
    private static final Path RUN = Path.of("/runs/r1");

    @Test
    void eachWrittenNameReadsBackAsItsIndexUnderItsOwnPrefixOnly() {
        assertEquals(OptionalInt.of(12), RunLayout.index(RunLayout.metrics(RUN, 12).getFileName().toString(), RunLayout.METRICS));
        assertEquals(OptionalInt.of(3), RunLayout.index(RunLayout.events(RUN, 3).getFileName().toString(), RunLayout.EVENTS));
        assertEquals(OptionalInt.of(0), RunLayout.index(RunLayout.attempts(RUN, 0).getFileName().toString(), RunLayout.ATTEMPTS));
        assertEquals(OptionalInt.empty(), RunLayout.index(RunLayout.events(RUN, 3).getFileName().toString(), RunLayout.METRICS));
    }

    @Test
    void namesThatOnlyLookLikeARanksRecordAreNotOne() {
        assertEquals(OptionalInt.empty(), RunLayout.index("metrics-rank-old.jsonl", RunLayout.METRICS));
        assertEquals(OptionalInt.empty(), RunLayout.index("metrics-rank-1.jsonl.incomplete", RunLayout.METRICS));
        assertEquals(OptionalInt.empty(), RunLayout.index("metrics-rank-.jsonl", RunLayout.METRICS));
    }

    @Test
    void everyFileLivesDirectlyInTheRunDirectory() {
        for (Path p : new Path[] {RunLayout.metrics(RUN, 1), RunLayout.events(RUN, 1), RunLayout.attempts(RUN, 1), RunLayout.log(RUN, 1),
                RunLayout.error(RUN, 1), RunLayout.failure(RUN, 1), RunLayout.reportJson(RUN), RunLayout.reportHtml(RUN),
                RunLayout.timeline(RUN), RunLayout.checkpoints(RUN)}) {
            assertEquals(RUN, p.getParent(), p.toString());
        }
        assertEquals(ErrorFile.of(RUN, 4), RunLayout.error(RUN, 4));
    }
}
