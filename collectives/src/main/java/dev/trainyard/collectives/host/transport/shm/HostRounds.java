package dev.trainyard.collectives.host.transport.shm;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.FrameHeader;
import dev.trainyard.collectives.host.transport.PeerLink;
import dev.trainyard.collectives.host.transport.tcp.TcpPeerLink;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The rounds of {@link dev.trainyard.collectives.host.algorithm.HostAllReduce} on one communicator's {@link HostSegment}: their numbering
 * (rounds and slices count up for the communicator's life, alike on every rank), the waits, and
 * what is checked while waiting. A wait spins, then yields (not when this host has more ranks than
 * cores), then sleeps until the rank that finishes the round rings — the policy of
 * {@link Exchange}'s waits, with the segment's sleep flags instead of the rings'. Used only by the
 * thread running the collective.
 */
public final class HostRounds {
    private static final long NOTICE_WAIT_NANOS = 2_000_000_000L;

    private final HostSegment segment;
    private final int rank;
    private final int size;
    private final PeerLink[] links;
    private final int yieldRounds;
    private final byte[] peekedHeader = new byte[FrameHeader.BYTES];
    private long rounds;
    private long slices;
    private int idleRounds;

    /** @param links every peer's link, all on shared memory (a segment exists only then) */
    public HostRounds(HostSegment segment, int rank, int size, PeerLink[] links, boolean oversubscribed) {
        this.segment = segment;
        this.rank = rank;
        this.size = size;
        this.links = links;
        this.yieldRounds = oversubscribed ? 0 : Exchange.YIELD_ROUNDS;
    }

    public HostSegment segment() {
        return segment;
    }

    /** Numbers the next round (from 1). */
    public long nextRound() {
        return ++rounds;
    }

    /** Reserves {@code n} slice numbers for the next round and returns the first. */
    public long claimSlices(int n) {
        long first = slices;
        slices += n;
        return first;
    }

    /**
     * Fails if a rank's communicator failed and poisoned the segment: the counters then hold
     * arrivals of a round it gave up, which a late rank must not complete. The failing rank's
     * abort notice says why; it is waited for briefly so that its reason is the one reported.
     */
    public void requireUsable(Exchange ex) {
        int by = segment.poisonedBy();
        if (by < 0) {
            return;
        }
        long until = System.nanoTime() + NOTICE_WAIT_NANOS;
        while (ex.context().failure() == null && System.nanoTime() < until) {
            LockSupport.parkNanos(this, 10_000_000L);
        }
        CollectiveException failure = ex.context().failure();
        throw failure != null ? failure : new CommunicatorAbortedException(ex.fingerprint() + " cannot run on rank " + rank + ": rank "
                + by + "'s communicator failed and left the shared segment (its log says why)", List.of(by), null);
    }

    /**
     * Waits until every rank has filled its slot for {@code round} (or the round is already done,
     * reduced by others), then checks that all joined it for the same collective.
     */
    public void awaitArrivals(Exchange ex, long round) {
        while (!segment.allArrived(round) && !segment.isDone(round)) {
            idle(ex, round, true);
        }
        idleRounds = 0;
        int other = segment.disagreeing(ex.fingerprint(), round);
        if (other >= 0) {
            throw ex.mismatch(other, segment.fingerprintOf(other, round));
        }
    }

    /** Waits until the last slice of {@code round} is reduced. */
    public void awaitDone(Exchange ex, long round) {
        while (!segment.isDone(round)) {
            idle(ex, round, false);
        }
        idleRounds = 0;
    }

    /** Rings every rank that went to sleep on the segment (over its TCP connection). */
    public void wakeSleepers() {
        for (int p = 0; p < size; p++) {
            if (p != rank && segment.needsWaking(p)) {
                ((TcpPeerLink) links[p]).ring();
            }
        }
    }

    /**
     * One round of waiting. While ranks are still arriving, a frame from a peer can only belong
     * to another collective (the segment's rounds send none): that is a mismatch, reported at once
     * instead of at the timeout.
     */
    private void idle(Exchange ex, long round, boolean arriving) {
        CollectiveException failure = ex.context().failure();
        if (failure != null) {
            throw failure;
        }
        requireUsable(ex);
        long left = ex.deadline() - System.nanoTime();
        if (left <= 0) {
            int missing = segment.firstMissing(round);
            throw ex.context().timedOut(ex.fingerprint(), missing >= 0 ? missing : (rank + 1) % size);
        }
        if (arriving) {
            for (int p = 0; p < size; p++) {
                if (p != rank && ((TcpPeerLink) links[p]).peek(peekedHeader) && !segment.allArrived(round)) {
                    throw ex.mismatch(p, FrameHeader.fingerprint(peekedHeader));
                }
            }
        }
        int r = idleRounds++;
        if (r < Exchange.SPIN_ROUNDS) {
            Thread.onSpinWait();
        } else if (r < Exchange.SPIN_ROUNDS + yieldRounds) {
            Thread.yield();
        } else {
            if (segment.sleeps(rank, round) && !(arriving && segment.allArrived(round))) {
                LockSupport.parkNanos(this, Math.min(left, Exchange.SLEEP_CAP_NANOS));
            }
            segment.awake(rank);
        }
    }
}
