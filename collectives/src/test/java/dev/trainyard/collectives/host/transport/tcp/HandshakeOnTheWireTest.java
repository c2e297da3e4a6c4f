package dev.trainyard.collectives.host.transport.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.primitives.Bytes;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TokenProof;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * What an eavesdropper sees of a data-plane handshake, recorded by a relay between the two ranks:
 * not the token, and nothing that opens the door when replayed. A listener without the token
 * cannot pass as the rank either.
 */
class HandshakeOnTheWireTest {
    private final JobToken token = JobToken.generate();

    @Test
    void theTokenNeverCrossesAndARecordedHandshakeReplayedIsRefused() throws Exception {
        try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
             Relay relay = new Relay(listener.getLocalAddress())) {
            CompletableFuture<String> verdict = acceptOne(listener);
            try (SocketChannel ch = SocketChannel.open(relay.address())) {
                new TcpHandshake(token, 1, 2).offer(ch, 0);
            }
            assertEquals("accepted rank 1", verdict.get(20, TimeUnit.SECONDS));
            byte[] secret = token.value().getBytes(StandardCharsets.US_ASCII);
            assertTrue(relay.sent().length > 0 && relay.received().length > 0, "the relay saw the handshake");
            assertTrue(Bytes.indexOf(relay.sent(), secret) < 0 && Bytes.indexOf(relay.received(), secret) < 0, "the token's bytes never cross");

            // the eavesdropper replays what the rank sent, byte for byte: the listener's fresh nonce makes the old proof wrong
            CompletableFuture<String> replayed = acceptOne(listener);
            try (Socket s = new Socket("127.0.0.1", ((InetSocketAddress) listener.getLocalAddress()).getPort())) {
                s.setSoTimeout(15_000);
                s.getOutputStream().write(relay.sent());
                InputStream in = s.getInputStream();
                assertEquals(TcpHandshake.OK, in.read());
                in.readNBytes(TokenProof.NONCE_BYTES + TokenProof.BYTES);
                assertEquals(TcpHandshake.REFUSED, in.read());
            }
            assertEquals("refused: wrong job token (its proof does not verify)", replayed.get(20, TimeUnit.SECONDS));
        }
    }

    @Test
    void aListenerWithoutTheTokenCannotPassAsTheRank() throws Exception {
        try (ServerSocketChannel impostor = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0))) {
            CompletableFuture<String> verdict = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel ch = impostor.accept()) {
                    String[] why = new String[1];
                    return new TcpHandshake(JobToken.generate(), 0, 2).accept(ch, why, () -> true) < 0 ? why[0] : "accepted";
                } catch (IOException e) {
                    return "closed: " + e.getMessage();
                }
            });
            try (SocketChannel ch = SocketChannel.open(impostor.getLocalAddress())) {
                IOException e = assertThrows(IOException.class, () -> new TcpHandshake(token, 1, 2).offer(ch, 0));
                assertTrue(e.getMessage().contains("could not prove it holds the job token"), e.getMessage());
            }
            verdict.get(20, TimeUnit.SECONDS);
        }
    }

    private CompletableFuture<String> acceptOne(ServerSocketChannel listener) {
        return CompletableFuture.supplyAsync(() -> {
            try (SocketChannel ch = listener.accept()) {
                String[] why = new String[1];
                int sender = new TcpHandshake(token, 0, 2).accept(ch, why, () -> true);
                return sender >= 0 ? "accepted rank " + sender : "refused: " + why[0];
            } catch (IOException e) {
                return "failed: " + e;
            }
        });
    }

    /** Forwards one connection to {@code target}, keeping a copy of the bytes each way (what a sniffer on the path sees). */
    private static final class Relay implements AutoCloseable {
        private final ServerSocketChannel server;
        private final ByteArrayOutputStream up = new ByteArrayOutputStream();
        private final ByteArrayOutputStream down = new ByteArrayOutputStream();
        private final Thread thread;

        Relay(java.net.SocketAddress target) throws IOException {
            server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
            thread = new Thread(() -> {
                try (Socket client = server.accept().socket(); Socket upstream = new Socket()) {
                    upstream.connect(target);
                    Thread back = new Thread(() -> pump(upstream, client, down));
                    back.start();
                    pump(client, upstream, up);
                    back.join(10_000);
                } catch (IOException | InterruptedException ignored) {
                    // the test's assertions say what went wrong
                }
            }, "relay");
            thread.start();
        }

        InetSocketAddress address() throws IOException {
            return (InetSocketAddress) server.getLocalAddress();
        }

        private static void pump(Socket from, Socket to, ByteArrayOutputStream copy) {
            byte[] buf = new byte[4096];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (copy) {
                        copy.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                }
                to.shutdownOutput();
            } catch (IOException ignored) {
                // one side closed
            }
        }

        byte[] sent() throws InterruptedException {
            thread.join(10_000);
            synchronized (up) {
                return up.toByteArray();
            }
        }

        byte[] received() {
            synchronized (down) {
                return down.toByteArray();
            }
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
