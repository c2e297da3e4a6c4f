package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.Keepalive;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.IntFunction;

/** Accepts peers' raw TCP data-plane connections, authenticates them and hands them to their link. */
final class TcpListener implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TcpListener.class.getName());
    static final int MAX_PENDING_HANDSHAKES = 32;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private TcpListener(ServerSocketChannel server, Thread acceptor) {
        this.server = server;
        this.acceptor = acceptor;
    }

    static TcpListener start(String host, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0));
        Thread acceptor = new Thread(() -> acceptLoop(server, rank, handshake, links), "trainyard-tcp-accept-rank-" + rank);
        acceptor.setDaemon(true);
        acceptor.start();
        return new TcpListener(server, acceptor);
    }

    int port() {
        return server.socket().getLocalPort();
    }

    /**
     * Each handshake runs on its own short-lived thread, so a client that connects and then stalls
     * (or trickles bytes) cannot hold up real peers for the handshake timeout; at most
     * {@link #MAX_PENDING_HANDSHAKES} run at once, and a new connection beyond them closes the oldest
     * pending one: a real peer's handshake takes a round trip, a flood's stalls, so the flood evicts
     * itself and cannot keep real ranks out by holding every slot.
     */
    private static void acceptLoop(ServerSocketChannel server, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links) {
        PendingHandshakes pending = new PendingHandshakes(MAX_PENDING_HANDSHAKES);
        while (server.isOpen()) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException closed) {
                return;
            }
            SocketChannel evicted = pending.admit(ch);
            if (evicted != null) {
                LOG.log(System.Logger.Level.WARNING, "data plane of rank {0}: {1} handshakes pending; closed the oldest, from {2}",
                        rank, MAX_PENDING_HANDSHAKES, evicted.socket().getRemoteSocketAddress());
                closeQuietly(evicted);
            }
            Thread t = new Thread(() -> {
                try {
                    authenticate(ch, rank, handshake, links, () -> pending.claim(ch));
                } finally {
                    pending.forget(ch);
                }
            }, "trainyard-tcp-handshake-rank-" + rank);
            t.setDaemon(true);
            t.start();
        }
    }

    private static void authenticate(SocketChannel ch, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links,
                                     java.util.function.BooleanSupplier claim) {
        String[] why = new String[1];
        try {
            ch.socket().setTcpNoDelay(true);
            Keepalive.on(ch);
            int sender = handshake.accept(ch, why, claim);
            if (sender < 0) {
                LOG.log(System.Logger.Level.WARNING, "data plane of rank {0}: refused a connection from {1}: {2}",
                        rank, ch.socket().getRemoteSocketAddress(), why[0]);
            } else if (!links.apply(sender).attachInbound(ch, rank)) {
                LOG.log(System.Logger.Level.WARNING, "data plane of rank {0}: refused a second connection from rank {1}", rank, sender);
                ch.close();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "data plane of rank {0}: handshake failed: {1}", rank, e.toString()); // EOF has no message
            closeQuietly(ch);
        }
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing a broken socket
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // already closed
        }
        acceptor.interrupt();
    }
}
