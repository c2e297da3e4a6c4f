package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes one checkpoint file as a stream with a running CRC32: small fields go through one 64 KiB
 * heap buffer, parameter bytes straight from the tensors' memory to the file, so neither the
 * model's size nor the 2 GiB limit of a Java array bounds what can be saved. Layout (big-endian):
 * magic, epoch, batches done, step; the parameter count, then per parameter its name, byte count
 * and raw bytes; a flag and, when set, the optimizer's kind, update count, state arrays per
 * parameter, and per parameter its name and float count, then its state floats slot by slot (per
 * parameter, not per bucket, so any bucketing can load it); finally the CRC32 of everything before it.
 * With a sharded optimizer the flag says the state lies in the ranks' shard files and only the
 * header follows (kind, update count, slots, the parameter table); a shard file ({@link #SHARD_MAGIC})
 * holds the kind, update count, slots, rank and world size, its pieces of parameters (name, first
 * float, float count), their floats slot by slot, and the CRC32.
 */
final class CheckpointWriter implements Closeable {
    static final byte[] MAGIC = "TYCK0002".getBytes(StandardCharsets.US_ASCII);
    static final byte[] SHARD_MAGIC = "TYSH0001".getBytes(StandardCharsets.US_ASCII);
    /** What follows the parameters: no optimizer state, the state itself, or a pointer to the shard files. */
    static final int NO_OPTIMIZER = 0;
    static final int OPTIMIZER_INLINE = 1;
    static final int OPTIMIZER_IN_SHARDS = 2;
    static final int BUFFER = 64 * 1024;

    private final FileChannel out;
    private final ByteBuffer small = ByteBuffer.allocate(BUFFER).order(ByteOrder.BIG_ENDIAN);
    private final CRC32 crc = new CRC32();

    CheckpointWriter(Path file) throws IOException {
        this(file, MAGIC);
    }

    CheckpointWriter(Path file, byte[] magic) throws IOException {
        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        small.put(magic);
    }

    void writeState(TrainingState state) throws IOException {
        room(20);
        small.putInt(state.epoch()).putLong(state.batchesDone()).putLong(state.step());
    }

    void writeParameters(Block block) throws IOException {
        room(4);
        small.putInt(block.getParameters().size());
        for (Pair<String, Parameter> p : block.getParameters()) {
            writeName(p.getKey());
            room(8);
            small.putLong(Checkpoints.bytesOf(p));
            IOException[] failed = {null};
            ParameterBytes.read(p.getValue().getArray(), data -> {
                try {
                    raw(data.duplicate());
                } catch (IOException e) {
                    failed[0] = e;
                }
            });
            if (failed[0] != null) {
                throw failed[0];
            }
        }
    }

    void writeOptimizer(OptimizerState state) throws IOException {
        room(4);
        small.putInt(state == null ? NO_OPTIMIZER : OPTIMIZER_INLINE);
        if (state == null) {
            return;
        }
        writeOptimizerHeader(state.kind(), state.steps(), state.slotsPerBucket(), state.parameters());
        for (OptimizerState.Slice p : state.parameters()) {
            for (int s = 0; s < state.slotsPerBucket(); s++) {
                writeFloats(state.slot(p.bucket(), s), p.offset(), p.count());
            }
        }
    }

    /** Marks the optimizer state as kept in shard files: only what a reader needs to check it against its run. */
    void writeOptimizerInShards(String kind, long steps, int slots, List<OptimizerState.Slice> parameters) throws IOException {
        room(4);
        small.putInt(OPTIMIZER_IN_SHARDS);
        writeOptimizerHeader(kind, steps, slots, parameters);
    }

    private void writeOptimizerHeader(String kind, long steps, int slots, List<OptimizerState.Slice> parameters) throws IOException {
        writeName(kind);
        room(16);
        small.putLong(steps).putInt(slots).putInt(parameters.size());
        for (OptimizerState.Slice p : parameters) {
            writeName(p.name());
            room(4);
            small.putInt(p.count());
        }
    }

    /** The body of a shard file (opened with {@link #SHARD_MAGIC}). */
    void writeShard(OptimizerShard shard) throws IOException {
        OptimizerState own = shard.own();
        writeName(own.kind());
        room(24);
        small.putLong(own.steps()).putInt(own.slotsPerBucket()).putInt(shard.rank()).putInt(shard.worldSize()).putInt(shard.pieces().size());
        for (OptimizerShard.Piece p : shard.pieces()) {
            writeName(p.parameter());
            room(8);
            small.putInt(p.parameterOffset()).putInt(p.count());
        }
        for (OptimizerShard.Piece p : shard.pieces()) {
            for (int s = 0; s < own.slotsPerBucket(); s++) {
                writeFloats(own.slot(p.bucket(), s), p.stateOffset(), p.count());
            }
        }
    }

    private void writeFloats(float[] values, int from, int count) throws IOException {
        for (int off = from; off < from + count; ) {
            room(4);
            int n = Math.min(from + count - off, small.remaining() / Float.BYTES);
            small.asFloatBuffer().put(values, off, n);
            small.position(small.position() + n * Float.BYTES);
            off += n;
        }
    }

    /** Writes the checksum and makes the file durable; returns the checksum. */
    long finish() throws IOException {
        flush();
        ByteBuffer sum = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putLong(crc.getValue()).flip();
        while (sum.hasRemaining()) {
            out.write(sum);
        }
        out.force(true);
        return crc.getValue();
    }

    private void writeName(String name) throws IOException {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length > BUFFER - 4) {
            throw new IOException("name too long for a checkpoint: " + name.substring(0, 80) + "...");
        }
        room(4 + n.length);
        small.putInt(n.length).put(n);
    }

    private void room(int bytes) throws IOException {
        if (small.remaining() < bytes) {
            flush();
        }
    }

    private void flush() throws IOException {
        small.flip();
        crc.update(small.array(), 0, small.limit());
        while (small.hasRemaining()) {
            out.write(small);
        }
        small.clear();
    }

    private void raw(ByteBuffer data) throws IOException {
        flush();
        crc.update(data.duplicate());
        while (data.hasRemaining()) {
            out.write(data);
        }
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
