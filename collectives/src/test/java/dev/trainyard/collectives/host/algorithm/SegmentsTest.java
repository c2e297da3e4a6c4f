package dev.trainyard.collectives.host.algorithm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** How a buffer splits into per-rank segments and pipeline chunks: a tiling, whole elements, never a lost byte. */
class SegmentsTest {

    /** Every byte of {@code total} lies in exactly one chunk of one segment, in order, chunks of whole elements. */
    private static void assertTiles(Segments s, int n, long totalBytes, int elementBytes, int chunkBytes) {
        long at = 0;
        for (int seg = 0; seg < n; seg++) {
            assertEquals(at, s.start(seg), "segment " + seg + " starts where the previous ended");
            int covered = 0;
            for (int c = 0; c < s.chunks(seg); c++) {
                assertEquals(covered, s.chunkOffset(c), "chunk " + c + " of segment " + seg);
                int len = s.chunkLength(seg, c);
                assertTrue(len >= 0 && len <= chunkBytes, "chunk length " + len);
                assertEquals(0, len % elementBytes, "whole elements");
                covered += len;
            }
            assertEquals(s.length(seg), covered, "chunks of segment " + seg + " cover it");
            at += s.length(seg);
        }
        assertEquals(totalBytes, at, "segments cover the buffer");
    }

    @Test
    void balancedSegmentsDifferByAtMostOneElementAndTileTheBuffer() {
        for (int n : new int[] {1, 2, 3, 4, 8}) {
            for (long count : new long[] {0, 1, 7, 1009, 65_537, 1 << 20}) {
                for (int elementBytes : new int[] {2, 4, 8}) {
                    Segments s = Segments.balanced(count, n, elementBytes, 4096);
                    assertTiles(s, n, count * elementBytes, elementBytes, 4096);
                    int min = Integer.MAX_VALUE;
                    int max = 0;
                    for (int seg = 0; seg < n; seg++) {
                        min = Math.min(min, s.length(seg));
                        max = Math.max(max, s.length(seg));
                    }
                    assertTrue(max - min <= elementBytes, n + " ranks, " + count + " elements: " + min + ".." + max);
                }
            }
        }
    }

    @Test
    void anEmptySegmentStillHasOneEmptyChunkSoEveryStepSendsAFrame() {
        Segments s = Segments.balanced(1, 3, 4, 4096);
        assertEquals(4, s.length(0));
        assertEquals(0, s.length(2));
        assertEquals(1, s.chunks(2));
        assertEquals(0, s.chunkLength(2, 0));
    }

    @Test
    void chunksAreRoundedDownToWholeElementsButNeverBelowOne() {
        Segments s = Segments.balanced(3000, 1, 8, 4100); // 4100 is not a multiple of 8: chunks of 4096
        assertTiles(s, 1, 24_000, 8, 4096);
        assertEquals(4096, s.chunkLength(0, 0));
        Segments tiny = Segments.balanced(10, 1, 8, 4); // a chunk smaller than an element: one element
        assertEquals(10, tiny.chunks(0));
        assertEquals(8, tiny.chunkLength(0, 9));
    }

    @Test
    void blocksAreEqualAndConsecutive() {
        Segments s = Segments.blocks(4, 10_000, 4, 4096);
        assertTiles(s, 4, 40_000, 4, 4096);
        for (int seg = 0; seg < 4; seg++) {
            assertEquals(seg * 10_000, s.start(seg));
            assertEquals(3, s.chunks(seg));
        }
    }
}
