package dev.trainyard.collectives.host.transport.tcp;

import dev.trainyard.collectives.Keepalive;
import dev.trainyard.collectives.security.RejectionLog;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/** Accepts peers' raw TCP data-plane connections, authenticates them and hands them to their link. */
public final class TcpListener implements AutoCloseable {
    public static final int MAX_PENDING_HANDSHAKES = 32;
    /** A host with 16 ranks all connecting at once still fits; a flood from one host competes only with itself. */
    static final int MAX_PENDING_HANDSHAKES_PER_SOURCE = 16;
    /**
     * The kernel's queue of connections not yet accepted. Java's default (50) let a burst of 100
     * connections from a flood fill it, and the kernel then drops a real rank's SYN, which its TCP
     * retries only after 1 s, then 3 s: a measured 2-3 s later start. Netty's servers use the
     * kernel's maximum (somaxconn) for the same reason; the kernel caps this value at it.
     */
    static final int ACCEPT_BACKLOG = 4096;
    private final ServerSocketChannel server;
    private final Thread acceptor;

    private TcpListener(ServerSocketChannel server, Thread acceptor) {
        this.server = server;
        this.acceptor = acceptor;
    }

    public static TcpListener start(String host, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(host, 0), ACCEPT_BACKLOG);
        Thread acceptor = new Thread(() -> acceptLoop(server, rank, handshake, links), "trainyard-tcp-accept-rank-" + rank);
        acceptor.setDaemon(true);
        acceptor.start();
        return new TcpListener(server, acceptor);
    }

    public int port() {
        return server.socket().getLocalPort();
    }

    /**
     * Each handshake runs on its own short-lived thread, so a client that connects and then stalls
     * (or trickles bytes) cannot hold up real peers for the handshake timeout; at most
     * {@link #MAX_PENDING_HANDSHAKES} run at once, and a new connection beyond them closes the oldest
     * pending one (from the same address once that address holds {@link #MAX_PENDING_HANDSHAKES_PER_SOURCE}):
     * a real peer's handshake takes a round trip, a flood's stalls, so the flood evicts itself and cannot
     * keep real ranks out by holding every slot. Refusals and evictions are logged once per source a minute.
     */
    private static void acceptLoop(ServerSocketChannel server, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links) {
        PendingHandshakes pending = new PendingHandshakes(MAX_PENDING_HANDSHAKES, MAX_PENDING_HANDSHAKES_PER_SOURCE);
        RejectionLog rejections = new RejectionLog("data plane of rank " + rank);
        while (server.isOpen()) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException closed) {
                return;
            }
            SocketChannel evicted = pending.admit(ch, remote(ch));
            if (evicted != null) {
                rejections.refused(remote(evicted), "a connection", "too many handshakes pending; closed the oldest");
                endWithoutWaiting(evicted);
            }
            Thread t = new Thread(() -> {
                try {
                    authenticate(ch, rank, handshake, links, () -> pending.claim(ch), rejections);
                } finally {
                    pending.forget(ch);
                }
            }, "trainyard-tcp-handshake-rank-" + rank);
            t.setDaemon(true);
            t.start();
        }
    }

    private static void authenticate(SocketChannel ch, int rank, TcpHandshake handshake, IntFunction<TcpPeerLink> links,
                                     BooleanSupplier claim, RejectionLog rejections) {
        SocketAddress from = remote(ch);
        String[] why = new String[1];
        try {
            ch.socket().setTcpNoDelay(true);
            Keepalive.on(ch);
            int sender = handshake.accept(ch, why, claim);
            if (sender < 0) {
                rejections.refused(from, "a connection", why[0]);
            } else if (!links.apply(sender).attachInbound(ch, rank)) {
                rejections.refused(from, "a second connection from rank " + sender, "that rank is connected already");
                ch.close();
            }
        } catch (IOException e) {
            rejections.refused(from, "a connection", "handshake failed: " + e); // EOF has no message
            closeQuietly(ch);
        }
    }

    /**
     * Ends an evicted handshake from the accept thread without closing its channel here: closing a
     * blocking channel waits until the thread reading it has left the read, and under a flood on a
     * busy machine those waits queued every new connection, a real rank's too (its handshake took
     * 1 s instead of 15 ms). Shutting the connection down wakes that thread at once with end of
     * stream; it refuses and closes the channel itself.
     */
    private static void endWithoutWaiting(SocketChannel ch) {
        try {
            ch.shutdownInput();
            ch.shutdownOutput();
        } catch (IOException alreadyGone) {
            // the handshake ended meanwhile
        }
    }

    private static SocketAddress remote(SocketChannel ch) {
        try {
            return ch.getRemoteAddress();
        } catch (IOException closed) {
            return null;
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
