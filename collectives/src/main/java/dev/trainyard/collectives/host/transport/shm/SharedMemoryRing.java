package dev.trainyard.collectives.host.transport.shm;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.file.Path;

/**
 * One direction between two ranks on one host: a single-producer/single-consumer ring of frame
 * slots in a file under {@code /dev/shm} that both processes map. The sender copies a frame
 * straight from its buffer into a slot (the only copy); the receiver reduces or copies straight
 * out of the slot and frees it when done, so a byte crosses with one copy instead of the two
 * through the kernel's socket buffers, and no thread is woken per frame.
 *
 * <p>Layout: a 16-byte nonce (proves that both sides mapped the same file, never guessed from an
 * address) and two sleep flags, then the producer's count of published frames and the consumer's
 * count of released frames on cache lines of their own, then the slots: the 40-byte frame header padded to 64
 * bytes, then up to {@code payloadBytes} of payload. Counts are published with release stores
 * and read with acquire loads, which order the slot's bytes across processes.
 *
 * <p>Sleeping: a side that has waited long enough raises its flag and re-checks the ring; the other
 * side, after publishing or releasing, reads the flag and, if raised, lowers it and reports that
 * the sleeper needs a wake-up (which the link sends over its TCP connection). Flag and count are
 * written and read with volatile (sequentially consistent) accesses on both sides, so either the
 * sleeper sees the new count or the other side sees the flag: no wake-up is lost.
 */
public final class SharedMemoryRing {
    private static final int CONSUMER_SLEEPING_OFFSET = 16;
    private static final int PRODUCER_SLEEPING_OFFSET = 24;
    private static final int HEAD_OFFSET = 64;
    private static final int TAIL_OFFSET = 128;
    private static final int SLOTS_OFFSET = 192;
    private static final int HEADER_SLOT = 64;
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final MappedByteBuffer map;
    private final int slots;
    private final int slotBytes;
    /** Producer side: frames published so far. */
    private long published;
    /** Consumer side: frames handed out, and frames given back (slots free again). */
    private long taken;
    private long released;

    private SharedMemoryRing(MappedByteBuffer map, int slots, int payloadBytes) {
        this.map = map;
        this.slots = slots;
        this.slotBytes = HEADER_SLOT + payloadBytes;
    }

    static long fileBytes(int slots, int payloadBytes) {
        return SLOTS_OFFSET + (long) slots * (HEADER_SLOT + payloadBytes);
    }

    /** Creates the file (owner-only), maps it and writes the nonce; the caller receives on it. */
    static SharedMemoryRing create(Path file, int slots, int payloadBytes, byte[] nonce) throws IOException {
        return new SharedMemoryRing(MappedSegment.create(file, fileBytes(slots, payloadBytes), nonce), slots, payloadBytes);
    }

    /** Maps a ring the peer created; fails unless it has the expected size and nonce. The caller sends on it. */
    static SharedMemoryRing open(Path file, int slots, int payloadBytes, byte[] nonce) throws IOException {
        return new SharedMemoryRing(MappedSegment.open(file, fileBytes(slots, payloadBytes), nonce), slots, payloadBytes);
    }

    // ---------------------------------------------------------------- producer

    /** True when a slot is free. */
    public boolean hasRoom() {
        return published - (long) LONGS.getAcquire(map, TAIL_OFFSET) < slots;
    }

    /**
     * Copies one frame into the next slot and publishes it; only call when {@link #hasRoom()}.
     * Returns true if the consumer was asleep and must be woken.
     */
    public boolean publish(byte[] header, ByteBuffer src, int offset, int length) {
        int base = slotBase(published);
        map.put(base, header);
        if (length > 0) {
            map.put(base + HEADER_SLOT, src, offset, length);
        }
        published++;
        LONGS.setVolatile(map, HEAD_OFFSET, published);
        return lowered(CONSUMER_SLEEPING_OFFSET);
    }

    // ---------------------------------------------------------------- consumer

    /** Offset of the next published frame's header (its payload follows at {@link #payloadOffset}), or -1 if none yet. */
    public int take() {
        if (taken >= (long) LONGS.getAcquire(map, HEAD_OFFSET)) {
            return -1;
        }
        return slotBase(taken++);
    }

    /** Copies the next published frame's header into {@code into} without taking it; false if none yet. */
    public boolean peek(byte[] into) {
        if (taken >= (long) LONGS.getAcquire(map, HEAD_OFFSET)) {
            return false;
        }
        map.get(slotBase(taken), into);
        return true;
    }

    /** Frees the oldest taken slot (frames are released in the order they were taken); true if the producer must be woken. */
    public boolean release() {
        released++;
        LONGS.setVolatile(map, TAIL_OFFSET, released);
        return lowered(PRODUCER_SLEEPING_OFFSET);
    }

    // ---------------------------------------------------------------- sleeping

    /** The consumer is about to sleep until a frame arrives; false if one already has (then do not sleep). */
    public boolean consumerSleeps() {
        LONGS.setVolatile(map, CONSUMER_SLEEPING_OFFSET, 1L);
        return taken >= (long) LONGS.getVolatile(map, HEAD_OFFSET);
    }

    /** The producer is about to sleep until a slot frees; false if one already has. */
    public boolean producerSleeps() {
        LONGS.setVolatile(map, PRODUCER_SLEEPING_OFFSET, 1L);
        return published - (long) LONGS.getVolatile(map, TAIL_OFFSET) >= slots;
    }

    /** The consumer is awake again (woken or not): the producer need not ring. */
    public void consumerAwake() {
        LONGS.setVolatile(map, CONSUMER_SLEEPING_OFFSET, 0L);
    }

    /** The producer is awake again. */
    public void producerAwake() {
        LONGS.setVolatile(map, PRODUCER_SLEEPING_OFFSET, 0L);
    }

    /** True (once) if the flag at {@code offset} was raised: this side lowered it and owes a wake-up. */
    private boolean lowered(int offset) {
        return (long) LONGS.getVolatile(map, offset) != 0 && LONGS.compareAndSet(map, offset, 1L, 0L);
    }

    public ByteBuffer buffer() {
        return map;
    }

    public static int payloadOffset(int base) {
        return base + HEADER_SLOT;
    }

    private int slotBase(long frame) {
        return SLOTS_OFFSET + (int) (frame % slots) * slotBytes;
    }
}
