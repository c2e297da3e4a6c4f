package dev.trainyard.collectives.grpc;

import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/**
 * The connections whose handshake is still running, oldest first, at most {@code limit}. A
 * connection either claims itself when authenticated (from then on nothing can evict it) or is
 * evicted by a newer one while it is the oldest still pending.
 */
final class PendingHandshakes {
    private final int limit;
    private final ArrayDeque<SocketChannel> pending = new ArrayDeque<>();

    PendingHandshakes(int limit) {
        this.limit = limit;
    }

    /** Adds {@code ch}; returns the oldest pending connection it displaced (to be closed), or null. */
    synchronized SocketChannel admit(SocketChannel ch) {
        SocketChannel evicted = pending.size() >= limit ? pending.pollFirst() : null;
        pending.addLast(ch);
        return evicted;
    }

    /** True if {@code ch} was still pending, which it no longer is; false if it was evicted. */
    synchronized boolean claim(SocketChannel ch) {
        return pending.remove(ch);
    }

    /** The handshake ended (accepted, refused or failed). */
    synchronized void forget(SocketChannel ch) {
        pending.remove(ch);
    }
}
