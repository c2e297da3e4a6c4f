package dev.trainyard.collectives.host.transport.tcp;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The connections whose handshake is still running, oldest first: at most {@code limit} in all and at most
 * {@code perSource} from one address. A connection either claims itself when authenticated (from then on nothing
 * can evict it) or is evicted by a newer one while it is the oldest still pending — the oldest from its own address
 * when that address is at its limit, so one flooding host evicts its own connections and leaves other hosts' slots
 * alone; otherwise the oldest of all.
 */
final class PendingHandshakes {
    private final int limit;
    private final int perSource;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();

    private record Pending(SocketChannel channel, InetAddress source) {}

    PendingHandshakes(int limit, int perSource) {
        this.limit = limit;
        this.perSource = perSource;
    }

    /** Adds {@code ch}, connected from {@code from}; returns the pending connection it displaced (to be closed), or null. */
    synchronized SocketChannel admit(SocketChannel ch, SocketAddress from) {
        InetAddress source = from instanceof InetSocketAddress isa ? isa.getAddress() : null;
        SocketChannel evicted = null;
        if (source != null && count(source) >= perSource) {
            evicted = removeOldestFrom(source);
        } else if (pending.size() >= limit) {
            evicted = pending.pollFirst().channel();
        }
        pending.addLast(new Pending(ch, source));
        return evicted;
    }

    /** True if {@code ch} was still pending, which it no longer is; false if it was evicted. */
    synchronized boolean claim(SocketChannel ch) {
        return pending.removeIf(p -> p.channel() == ch);
    }

    /** The handshake ended (accepted, refused or failed). */
    synchronized void forget(SocketChannel ch) {
        pending.removeIf(p -> p.channel() == ch);
    }

    private int count(InetAddress source) {
        int n = 0;
        for (Pending p : pending) {
            if (source.equals(p.source())) {
                n++;
            }
        }
        return n;
    }

    private SocketChannel removeOldestFrom(InetAddress source) {
        for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            if (source.equals(p.source())) {
                it.remove();
                return p.channel();
            }
        }
        return null;
    }
}
