package dev.trainyard.collectives.host.transport;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.Fingerprint;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Ranks of one process joined by in-memory links: no sockets, no gRPC, no shared files, so an
 * algorithm written against {@link Exchange} runs deterministically in a unit test. Frames are
 * copied at send (like the gRPC transport), flow control is a credit per receive-window slot.
 */
public final class MemoryLinks {
    public final Exchange[] exchanges;
    private final Thread[] threads;
    private final MemoryLink[][] links;

    public MemoryLinks(int n, int chunkBytes, int window) {
        exchanges = new Exchange[n];
        threads = new Thread[n];
        links = new MemoryLink[n][n];
        for (int r = 0; r < n; r++) {
            int rank = r;
            LinkEvents events = new LinkEvents() {
                @Override
                public void wake() {
                    Thread t = threads[rank];
                    if (t != null) {
                        LockSupport.unpark(t);
                    }
                }

                @Override
                public void linkBroken(int peer, String reason, Throwable cause) {
                }
            };
            for (int p = 0; p < n; p++) {
                if (p != r) {
                    links[r][p] = new MemoryLink(p, events, window);
                }
            }
        }
        for (int r = 0; r < n; r++) {
            for (int p = 0; p < n; p++) {
                if (p != r) {
                    links[r][p].partner = links[p][r];
                }
            }
            exchanges[r] = new Exchange(r, n, chunkBytes, links[r], new FramePool(chunkBytes, 16), new TimeoutNamesThePeer(r));
        }
    }

    /** The thread that runs rank {@code r}'s collective: its links wake it. */
    public void runsOn(int r, Thread t) {
        threads[r] = t;
    }

    /** Frames rank {@code from} has handed to rank {@code to} so far. */
    public int framesSent(int from, int to) {
        return links[from][to].sent.get();
    }

    /** Events nobody listens to. */
    static final LinkEvents QUIET = new LinkEvents() {
        @Override
        public void wake() {
        }

        @Override
        public void linkBroken(int peer, String reason, Throwable cause) {
        }
    };

    /**
     * A link that carries nothing by itself: always ready, sends vanish, nothing to close. Tests
     * override what they exercise.
     */
    abstract static class QuietLink extends PeerLink {
        QuietLink(int peer, LinkEvents events, int window) {
            super(peer, events, window);
        }

        @Override
        public boolean ready() {
            return true;
        }

        @Override
        public void sendNow(Fingerprint fp, SendItem it) {
        }

        @Override
        public boolean drained() {
            return true;
        }

        @Override
        public void grantOne() {
        }

        @Override
        public void halfClose() {
        }

        @Override
        public void closeNow() {
        }

        @Override
        public String address() {
            return "memory";
        }
    }

    /** A context without failures whose timeout names the peer that was awaited. */
    record TimeoutNamesThePeer(int rank) implements CollectiveContext {
        @Override
        public CollectiveException failure() {
            return null;
        }

        @Override
        public CollectiveException timedOut(Fingerprint fp, int waitingOn) {
            return new CollectiveException(fp + " timed out on rank " + rank + " waiting for rank " + waitingOn, List.of(waitingOn), null);
        }
    }

    /** Copies each frame into the partner's inbox; a credit per receive-window slot. */
    private static final class MemoryLink extends QuietLink {
        MemoryLink partner;
        private final AtomicInteger credits;
        final AtomicInteger sent = new AtomicInteger();

        MemoryLink(int peer, LinkEvents events, int window) {
            super(peer, events, window);
            credits = new AtomicInteger(window);
        }

        @Override
        public boolean ready() {
            return credits.get() > 0;
        }

        @Override
        public void sendNow(Fingerprint fp, SendItem it) {
            credits.decrementAndGet();
            InboundFrame f = new InboundFrame();
            FrameHeader.encode(f.header, fp, it.step, it.chunkOffset, it.length);
            ByteBuffer copy = f.copyBuffer(Math.max(it.length, 1));
            copy.put(0, it.src, it.offset, it.length);
            sent.incrementAndGet();
            partner.deliver(f);
        }

        @Override
        public void grantOne() {
            partner.credits.incrementAndGet();
            partner.events.wake();
        }
    }
}
