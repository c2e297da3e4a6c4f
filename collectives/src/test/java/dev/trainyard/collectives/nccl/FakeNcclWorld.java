package dev.trainyard.collectives.nccl;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The fake device layer's shared side: "device memory" (host buffers under made-up addresses),
 * ncclCommInitRank's rendezvous, and the collectives of ranks that run as threads of one JVM.
 * A collective waits for every rank's contribution (like NCCL's kernels) until its communicator
 * is aborted, so a rank that never issues it makes the others hang exactly as they would on GPUs.
 */
final class FakeNcclWorld {
    private final AtomicLong nextAddress = new AtomicLong(0x7000_0000_0000L);
    private final ConcurrentSkipListMap<Long, ByteBuffer> memory = new ConcurrentSkipListMap<>();
    private final Map<String, CountDownLatch> inits = new ConcurrentHashMap<>();
    private final Map<Long, Slot> slots = new ConcurrentHashMap<>();
    private final int size;

    FakeNcclWorld(int size) {
        this.size = size;
    }

    /** One collective call: every rank's input, gathered before anyone computes. */
    private final class Slot {
        final ByteBuffer[] inputs = new ByteBuffer[size];
        final CountDownLatch arrived = new CountDownLatch(size);
    }

    long malloc(long bytes) {
        long address = nextAddress.getAndAdd((bytes + 4095) / 4096 * 4096 + 4096);
        memory.put(address, ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()));
        return address;
    }

    void free(long address) {
        if (memory.remove(address) == null) {
            throw new IllegalStateException("free of an address that was never allocated: " + address);
        }
    }

    /** {@code bytes} of device memory at {@code address}, which may point inside an allocation. */
    ByteBuffer at(long address, long bytes) {
        Map.Entry<Long, ByteBuffer> e = memory.floorEntry(address);
        if (e == null || address - e.getKey() + bytes > e.getValue().capacity()) {
            throw new IllegalStateException("access outside device memory: " + bytes + " bytes at " + address);
        }
        return e.getValue().slice((int) (address - e.getKey()), (int) bytes).order(ByteOrder.nativeOrder());
    }

    void awaitInit(byte[] id) {
        CountDownLatch latch = inits.computeIfAbsent(new String(id, java.nio.charset.StandardCharsets.ISO_8859_1),
                k -> new CountDownLatch(size));
        latch.countDown();
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs collective number {@code seq} for {@code rank}: deposits its input, waits for all ranks (or
     * until {@code aborted}), and writes this rank's output.
     */
    void collective(long seq, int rank, String kind, long send, long recv, long count, DataType type, ReduceOp op, int root,
                    BooleanSupplier aborted) {
        int elementBytes = type.bytes();
        long inBytes = kind.equals("reduceScatter") ? count * size * elementBytes : count * elementBytes;
        Slot slot = slots.computeIfAbsent(seq, s -> new Slot());
        ByteBuffer copy = ByteBuffer.allocate((int) inBytes).order(ByteOrder.nativeOrder());
        copy.put(at(send, inBytes)).flip();
        slot.inputs[rank] = copy;
        slot.arrived.countDown();
        while (slot.arrived.getCount() > 0) {
            if (aborted.getAsBoolean()) {
                return; // ncclCommAbort stops the kernel
            }
            Thread.onSpinWait();
        }
        switch (kind) {
            case "allReduce" -> reduce(slot.inputs, 0, count, type, op, at(recv, count * elementBytes));
            case "broadcast" -> at(recv, inBytes).put(slot.inputs[root].duplicate());
            case "allGather" -> {
                ByteBuffer out = at(recv, inBytes * size);
                for (ByteBuffer in : slot.inputs) {
                    out.put(in.duplicate());
                }
            }
            case "reduceScatter" -> reduce(slot.inputs, rank * count, count, type, op, at(recv, count * elementBytes));
            default -> throw new IllegalArgumentException(kind);
        }
    }

    private static void reduce(ByteBuffer[] inputs, long first, long count, DataType type, ReduceOp op, ByteBuffer out) {
        for (int j = 0; j < count; j++) {
            int at = (int) ((first + j) * type.bytes());
            double acc = value(inputs[0], at, type);
            for (int r = 1; r < inputs.length; r++) {
                double v = value(inputs[r], at, type);
                acc = switch (op) {
                    case SUM, AVG -> acc + v;
                    case MAX -> Math.max(acc, v);
                    case MIN -> Math.min(acc, v);
                    case PRODUCT -> acc * v;
                };
            }
            if (op == ReduceOp.AVG) {
                acc /= inputs.length;
            }
            if (type == DataType.FLOAT32) {
                out.putFloat(j * 4, (float) acc);
            } else if (type == DataType.INT32) {
                out.putInt(j * 4, (int) acc);
            } else {
                throw new UnsupportedOperationException("the fake device layer reduces FLOAT32 and INT32, not " + type);
            }
        }
    }

    private static double value(ByteBuffer b, int at, DataType type) {
        return type == DataType.FLOAT32 ? b.getFloat(at) : b.getInt(at);
    }
}
