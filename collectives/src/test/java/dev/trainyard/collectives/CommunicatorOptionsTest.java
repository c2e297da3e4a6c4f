package dev.trainyard.collectives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.security.JobToken;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class CommunicatorOptionsTest {
    private final JobToken token = JobToken.generate();

    @Test
    void eachWithChangesItsSettingAndKeepsTheOthers() {
        CommunicatorOptions o = CommunicatorOptions.defaults(token)
                .withHosts("10.0.0.2", null)
                .withTimeout(Duration.ofSeconds(7))
                .withConnectTimeout(Duration.ofSeconds(9))
                .withChunkBytes(256 << 10)
                .withSmallMessageBytes(8 << 10)
                .withReceiveWindow(3)
                .withTransport(Transport.TCP)
                .withAllReduceAlgorithm(AllReduceAlgorithm.HIERARCHICAL)
                .withHostIdentity("rack-7");
        assertSame(token, o.token());
        assertEquals("10.0.0.2", o.bindHost());
        assertEquals("10.0.0.2", o.advertiseHost(), "advertises the bind address unless told otherwise");
        assertEquals(Duration.ofSeconds(7), o.timeout());
        assertEquals(Duration.ofSeconds(9), o.connectTimeout());
        assertEquals(256 << 10, o.chunkBytes());
        assertEquals(8 << 10, o.smallMessageBytes());
        assertEquals(3, o.receiveWindow());
        assertEquals(Transport.TCP, o.transport());
        assertEquals(AllReduceAlgorithm.HIERARCHICAL, o.allReduceAlgorithm());
        assertEquals("rack-7", o.hostIdentity());
        assertEquals(AllReduceAlgorithm.AUTO, CommunicatorOptions.defaults(token).allReduceAlgorithm());
        CommunicatorOptions again = o.withTransport(Transport.GRPC_STREAM);
        assertEquals(Transport.TCP, o.transport(), "immutable: the original keeps its value");
        assertEquals(Duration.ofSeconds(7), again.timeout());
        assertEquals("10.0.0.9", o.withHosts("0.0.0.0", "10.0.0.9").advertiseHost());
    }

    @Test
    void aSmallerChunkLowersTheSmallMessageThreshold() {
        assertEquals(16 << 10, CommunicatorOptions.defaults(token).withChunkBytes(16 << 10).smallMessageBytes());
    }

    @Test
    void badValuesAreRefusedWithTheirName() {
        CommunicatorOptions d = CommunicatorOptions.defaults(token);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.withChunkBytes(1000)).getMessage().startsWith("chunkBytes"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.withSmallMessageBytes(2 << 20)).getMessage().startsWith("smallMessageBytes"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.withReceiveWindow(0)).getMessage().startsWith("receiveWindow"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.withTimeout(Duration.ZERO)).getMessage().startsWith("collective timeout"));
    }
}
