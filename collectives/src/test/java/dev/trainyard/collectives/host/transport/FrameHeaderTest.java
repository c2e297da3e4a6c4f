package dev.trainyard.collectives.host.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import org.junit.jupiter.api.Test;

/** The 40-byte frame header: every field round-trips at its extremes, and any field that differs is seen. */
class FrameHeaderTest {

    @Test
    void everyFieldRoundTripsIncludingLargeAndNegativeValues() {
        Fingerprint fp = new Fingerprint(Long.MAX_VALUE - 7, CollectiveOp.BROADCAST, null, DataType.BFLOAT16, (1L << 40) + 3, 1234);
        byte[] h = new byte[FrameHeader.BYTES];
        FrameHeader.encode(h, fp, Integer.MAX_VALUE, 1 << 30, 65_536);
        assertTrue(FrameHeader.validMagic(h));
        assertEquals(fp, FrameHeader.fingerprint(h));
        assertTrue(FrameHeader.sameFingerprint(h, fp));
        assertEquals(Integer.MAX_VALUE, FrameHeader.step(h));
        assertEquals(1 << 30, FrameHeader.chunkOffset(h));
        assertEquals(65_536, FrameHeader.length(h));

        Fingerprint noRoot = new Fingerprint(0, CollectiveOp.ALL_REDUCE, ReduceOp.AVG, DataType.FLOAT32, 0, -1);
        FrameHeader.encode(h, noRoot, 0, 0, 0);
        assertEquals(noRoot, FrameHeader.fingerprint(h));
        assertEquals(-1, FrameHeader.fingerprint(h).root());
    }

    @Test
    void aFingerprintDifferingInAnyOneFieldIsNotTheSame() {
        Fingerprint fp = new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1000, -1);
        byte[] h = new byte[FrameHeader.BYTES];
        FrameHeader.encode(h, fp, 3, 4096, 4096);
        Fingerprint[] others = {
            new Fingerprint(6, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1000, -1),
            new Fingerprint(5, CollectiveOp.REDUCE_SCATTER, ReduceOp.SUM, DataType.FLOAT32, 1000, -1),
            new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.MAX, DataType.FLOAT32, 1000, -1),
            new Fingerprint(5, CollectiveOp.ALL_REDUCE, null, DataType.FLOAT32, 1000, -1),
            new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT64, 1000, -1),
            new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1001, -1),
            new Fingerprint(5, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1000, 0),
        };
        for (Fingerprint other : others) {
            assertFalse(FrameHeader.sameFingerprint(h, other), other.toString());
        }
    }

    @Test
    void signalsCarryTheirNegativeLengthAndNoFingerprintGarbage() {
        byte[] h = new byte[FrameHeader.BYTES];
        FrameHeader.encode(h, new Fingerprint(9, CollectiveOp.ALL_GATHER, null, DataType.INT64, 7, -1), 1, 2, 3);
        FrameHeader.encodeBye(h);
        assertTrue(FrameHeader.validMagic(h));
        assertEquals(FrameHeader.BYE_LENGTH, FrameHeader.length(h));
        assertEquals(0, FrameHeader.step(h), "the earlier frame's fields are cleared");
        FrameHeader.encodeSignal(h, FrameHeader.DOORBELL_LENGTH);
        assertEquals(FrameHeader.DOORBELL_LENGTH, FrameHeader.length(h));
    }

    @Test
    void bytesThatAreNotAHeaderAreRecognised() {
        byte[] h = new byte[FrameHeader.BYTES];
        assertFalse(FrameHeader.validMagic(h));
        h[0] = (byte) 200; // no such collective
        assertNull(FrameHeader.fingerprint(h));
    }
}
