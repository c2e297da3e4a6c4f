package dev.trainyard.collectives.host.transport.tcp;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingHandshakesTest {
    private final PendingHandshakes pending = new PendingHandshakes(8, 3);
    private final List<SocketChannel> opened = new ArrayList<>();

    private SocketChannel channel() throws IOException {
        SocketChannel ch = SocketChannel.open(); // identity only: never connected
        opened.add(ch);
        return ch;
    }

    @Test
    void aFloodingHostEvictsItsOwnConnectionsNotAnotherHostsPendingOne() throws IOException {
        InetSocketAddress flood = new InetSocketAddress("10.0.0.66", 1);
        SocketChannel real = channel();
        assertNull(pending.admit(real, new InetSocketAddress("10.0.0.2", 5)));
        List<SocketChannel> mine = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SocketChannel ch = channel();
            mine.add(ch);
            assertNull(pending.admit(ch, flood));
        }
        for (int i = 0; i < 20; i++) {
            SocketChannel evicted = pending.admit(channel(), flood);
            assertSame(i < 3 ? mine.get(i) : evicted, evicted, "the flood's oldest goes first");
            assertTrue(evicted != real);
        }
        assertTrue(pending.claim(real), "the other host's handshake is still pending after 20 flood connections");
        close();
    }

    @Test
    void pastTheTotalTheOldestOfAllGoes() throws IOException {
        List<SocketChannel> all = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            SocketChannel ch = channel();
            all.add(ch);
            assertNull(pending.admit(ch, new InetSocketAddress("10.0.1." + i, 1)));
        }
        assertSame(all.get(0), pending.admit(channel(), new InetSocketAddress("10.0.2.1", 1)));
        assertFalse(pending.claim(all.get(0)), "evicted: cannot claim its slot any more");
        assertTrue(pending.claim(all.get(1)));
        close();
    }

    private void close() throws IOException {
        for (SocketChannel ch : opened) {
            ch.close();
        }
    }
}
