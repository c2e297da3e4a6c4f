package dev.trainyard.collectives.host.transport.shm;

import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.host.transport.FrameHeader;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * One shared-memory segment for all ranks of a group that share a host: a contribution slot per
 * rank, one result area, and the counters {@link dev.trainyard.collectives.host.algorithm.HostAllReduce} synchronizes on. Counters only
 * grow (one arrival per rank per round, one claim and one finish per slice), so a round never has
 * to reset what the previous round left, and a rank can tell which round a value belongs to.
 *
 * <p>Layout: the nonce and the poison word (set by a rank whose communicator failed: a later
 * arrival must not complete a round the others gave up, with their stale contributions), then four counters on cache lines of their own (arrivals, slices claimed,
 * slices finished, rounds done), then a 128-byte line per rank (sleep flag, rounds it has joined,
 * and the fingerprint of the collective it joined them for, kept twice by round parity: a rank
 * can only be two rounds ahead of another once that one has finished reading), then the slots and the result area,
 * each {@code capacity} bytes. Counters are updated with volatile (sequentially consistent)
 * accesses, which order the slot bytes written before them across processes.
 */
public final class HostSegment {
    /** 1 + the first rank whose communicator failed: its rounds will never complete, so nobody may wait on them. */
    private static final int POISON = 32;
    private static final int ARRIVED = 64;
    private static final int CLAIMED = 128;
    private static final int FINISHED = 192;
    private static final int DONE = 256;
    private static final int LINES = 320;
    private static final int LINE = 128;
    private static final int SLEEPING = 0;
    private static final int JOINED = 8;
    /**
     * Two fingerprint copies, by round parity: a rank writes round s+1's while others may still read
     * round s's. Each is a data frame's header ({@link FrameHeader}), so both paths encode and compare
     * fingerprints the same way.
     */
    private static final int FP = 16;
    private static final int FP_BYTES = FrameHeader.BYTES;
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final MappedByteBuffer map;
    /** Encodes and decodes fingerprints; a segment is used by one thread of its process. */
    private final byte[] header = new byte[FrameHeader.BYTES];
    private final int ranks;
    private final int capacity;
    private final int data;

    private HostSegment(MappedByteBuffer map, int ranks, int capacity) {
        this.map = map;
        this.ranks = ranks;
        this.capacity = capacity;
        this.data = LINES + ranks * LINE;
    }

    static long fileBytes(int ranks, int capacity) {
        return LINES + (long) ranks * LINE + (long) (ranks + 1) * capacity;
    }

    static HostSegment create(Path file, int ranks, int capacity, byte[] nonce) throws IOException {
        return new HostSegment(MappedSegment.create(file, fileBytes(ranks, capacity), nonce), ranks, capacity);
    }

    static HostSegment open(Path file, int ranks, int capacity, byte[] nonce) throws IOException {
        return new HostSegment(MappedSegment.open(file, fileBytes(ranks, capacity), nonce), ranks, capacity);
    }

    /** Bytes a slot holds: a collective larger than this runs in several rounds. */
    public int capacity() {
        return capacity;
    }

    public ByteBuffer buffer() {
        return map;
    }

    public int slot(int rank) {
        return data + rank * capacity;
    }

    public int result() {
        return data + ranks * capacity;
    }

    // ---------------------------------------------------------------- rounds

    /** Records that {@code rank} has filled its slot for round {@code round} (from 1) of collective {@code fp}. */
    public void arrive(int rank, long round, Fingerprint fp) {
        FrameHeader.encode(header, fp, 0, 0, 0);
        map.put(fingerprintAt(rank, round), header);
        LONGS.setVolatile(map, LINES + rank * LINE + JOINED, round);
        LONGS.getAndAdd(map, ARRIVED, 1L);
    }

    /** True once every rank has arrived for {@code round}. */
    boolean allArrived(long round) {
        return (long) LONGS.getVolatile(map, ARRIVED) >= round * ranks;
    }

    /** The lowest rank that has not yet joined {@code round}, or -1. */
    int firstMissing(long round) {
        for (int r = 0; r < ranks; r++) {
            if ((long) LONGS.getVolatile(map, LINES + r * LINE + JOINED) < round) {
                return r;
            }
        }
        return -1;
    }

    /** The lowest rank that joined {@code round} for another collective than {@code fp}, or -1 (call once all have arrived). */
    int disagreeing(Fingerprint fp, long round) {
        for (int r = 0; r < ranks; r++) {
            map.get(fingerprintAt(r, round), header);
            if (!FrameHeader.sameFingerprint(header, fp)) {
                return r;
            }
        }
        return -1;
    }

    /** What {@code rank} said it was calling in {@code round}, for the mismatch message. */
    Fingerprint fingerprintOf(int rank, long round) {
        map.get(fingerprintAt(rank, round), header);
        return FrameHeader.fingerprint(header);
    }

    private static int fingerprintAt(int rank, long round) {
        return LINES + rank * LINE + FP + (int) (round & 1) * FP_BYTES;
    }

    /**
     * Claims the next unreduced slice of the round whose slices are numbered from {@code first}
     * ({@code slices} of them), or returns -1 when all are claimed. Whoever is running does the
     * work: a rank the scheduler has not run yet claims nothing, and nobody waits for it.
     */
    public int claim(long first, int slices) {
        while (true) {
            long v = (long) LONGS.getVolatile(map, CLAIMED);
            if (v >= first + slices) {
                return -1;
            }
            if (LONGS.compareAndSet(map, CLAIMED, v, v + 1)) {
                return (int) (v - first);
            }
        }
    }

    /** Counts one reduced slice; true for the call that finished the last slice numbered below {@code end}. */
    public boolean finishSlice(long end) {
        return (long) LONGS.getAndAdd(map, FINISHED, 1L) + 1 == end;
    }

    public void roundDone(long round) {
        LONGS.setVolatile(map, DONE, round);
    }

    boolean isDone(long round) {
        return (long) LONGS.getVolatile(map, DONE) >= round;
    }

    /** Marks the segment unusable: {@code rank}'s communicator failed. The first rank to say so stays named. */
    public void poison(int rank) {
        LONGS.compareAndSet(map, POISON, 0L, rank + 1L);
    }

    /** The rank that poisoned the segment, or -1. */
    int poisonedBy() {
        return (int) ((long) LONGS.getVolatile(map, POISON) - 1);
    }

    // ---------------------------------------------------------------- sleeping

    /**
     * {@code rank} is about to sleep until the round is done; false if it already is (then do not
     * sleep). Flag and counter are both volatile, so either the sleeper sees the round done or
     * the rank that finishes it sees the flag: no wake-up is lost.
     */
    boolean sleeps(int rank, long round) {
        LONGS.setVolatile(map, LINES + rank * LINE + SLEEPING, 1L);
        return !isDone(round);
    }

    void awake(int rank) {
        LONGS.setVolatile(map, LINES + rank * LINE + SLEEPING, 0L);
    }

    /** True (once) if {@code rank} raised its flag: the caller lowered it and owes it a wake-up. */
    boolean needsWaking(int rank) {
        int at = LINES + rank * LINE + SLEEPING;
        return (long) LONGS.getVolatile(map, at) != 0 && LONGS.compareAndSet(map, at, 1L, 0L);
    }
}
