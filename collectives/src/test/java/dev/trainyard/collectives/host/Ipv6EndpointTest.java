package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.HostPort;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Ranks that listen on an IPv6 address publish endpoints their peers can parse: the port is after the brackets. */
class Ipv6EndpointTest {

    @Test
    void endpointsBracketIpv6Literals() {
        assertEquals("[::1]:29500", HostPort.format("::1", 29500));
        assertEquals("[fd00::2]:1", HostPort.format("[fd00::2]", 1));
        assertEquals("10.0.0.1:29500", HostPort.format("10.0.0.1", 29500));
        assertEquals("fd00::2", HostPort.host("[fd00::2]:29500"));
        assertEquals(29500, HostPort.port("[fd00::2]:29500"));
        assertEquals("node-1", HostPort.host("node-1:7"));
    }

    @Test
    void ranksBoundToIpv6LoopbackConnectAndReduce() throws IOException {
        boolean ipv6 = Files.exists(Path.of("/proc/net/if_inet6"))
                && Files.readAllLines(Path.of("/proc/net/if_inet6")).stream().anyMatch(l -> l.startsWith("00000000000000000000000000000001"));
        if (!ipv6) {
            System.out.println("SKIPPED: this host has no IPv6 loopback (::1)");
        }
        assumeTrue(ipv6);
        try (LocalGroup g = new LocalGroup(2, (r, o) -> o.withTransport(Transport.TCP).withHosts("::1", "::1"))) {
            List<Float> sums = g.onAll(r -> {
                ByteBuffer b = ByteBuffer.allocateDirect(4 * 1000).order(ByteOrder.nativeOrder());
                for (int i = 0; i < 1000; i++) {
                    b.putFloat(4 * i, r + 1);
                }
                g.comm(r).allReduce(b, DataType.FLOAT32, ReduceOp.SUM);
                return b.getFloat(4 * 999);
            });
            assertEquals(List.of(3f, 3f), sums);
        }
    }
}
