package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * Reads what {@link CheckpointWriter} wrote, as a stream through one 64 KiB buffer: first the
 * whole file's checksum, then a pass that only compares it with this run's model and optimizer,
 * and only then the pass that writes into the parameters and optimizer state, so a file that does
 * not fit leaves nothing half-loaded.
 */
final class CheckpointReader {
    /** More parameters or slots than any model has: a count past this is a damaged header, not a model. */
    private static final int MAX_ENTRIES = 1 << 24;
    private final FileChannel in;
    private boolean inShards;
    private long savedSteps;
    private final ByteBuffer buf = ByteBuffer.allocate(CheckpointWriter.BUFFER).order(ByteOrder.BIG_ENDIAN);

    private CheckpointReader(FileChannel in) {
        this.in = in;
        buf.flip();
    }

    /** Null if the file is a whole, untouched checkpoint of this format; else what is wrong. */
    static String verify(Path file) throws IOException {
        return verify(file, CheckpointWriter.MAGIC);
    }

    /** The checksum stored at the end of a file {@link CheckpointWriter} wrote (whether or not it holds). */
    static long storedChecksum(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer stored = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN);
            ch.position(Math.max(0, ch.size() - 8));
            while (stored.hasRemaining() && ch.read(stored) >= 0) {
                // reads the 8 checksum bytes
            }
            return stored.flip().remaining() == 8 ? stored.getLong() : -1;
        }
    }

    /** Null if the file is whole and untouched and starts with {@code magic}; else what is wrong. */
    static String verify(Path file, byte[] magic) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < magic.length + 8) {
                return "not a Trainyard checkpoint or truncated";
            }
            ByteBuffer chunk = ByteBuffer.allocate(CheckpointWriter.BUFFER);
            CRC32 crc = new CRC32();
            long left = size - 8;
            boolean first = true;
            while (left > 0) {
                chunk.clear().limit((int) Math.min(chunk.capacity(), left));
                if (ch.read(chunk) < 0) {
                    return "truncated";
                }
                chunk.flip();
                if (first) {
                    if (chunk.remaining() < magic.length) {
                        return "truncated";
                    }
                    byte[] head = Arrays.copyOf(chunk.array(), magic.length);
                    if (!Arrays.equals(head, magic)) {
                        return head[0] == 'T' && head[1] == 'Y' ? "written by another Trainyard version (format "
                                + new String(head, StandardCharsets.US_ASCII) + ")" : "not a Trainyard checkpoint";
                    }
                    first = false;
                }
                left -= chunk.remaining();
                crc.update(chunk);
            }
            ByteBuffer stored = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN);
            while (stored.hasRemaining() && ch.read(stored) >= 0) {
                // reads the 8 checksum bytes
            }
            return crc.getValue() == stored.flip().getLong() ? null : "checksum mismatch: truncated or corrupted";
        }
    }

    /**
     * The position a checkpoint holds, or why it does not fit this run (then nothing was loaded);
     * {@code optimizerInShards}: its optimizer state, after {@code optimizerSteps} updates, lies in
     * the ranks' shard files.
     */
    record Outcome(TrainingState state, String mismatch, boolean optimizerInShards, long optimizerSteps) {
    }

    /** What a checkpoint's optimizer header says. */
    private record OptimizerHeader(String kind, long steps, int slots, int count, Map<String, Integer> parameters) {
    }

    /**
     * Compares (and with {@code apply}, loads) the file's parameters and optimizer state against
     * the block and {@code optimizer}: the file's position, or the mismatch for the user.
     */
    static Outcome read(Path file, Block block, OptimizerState optimizer, boolean apply, Consumer<String> log) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            CheckpointReader r = new CheckpointReader(ch);
            r.skip(CheckpointWriter.MAGIC.length);
            TrainingState state = new TrainingState(r.readInt(), r.readLong(), r.readLong());
            String mismatch = r.readBody(block, optimizer, state.step(), apply, log);
            return new Outcome(mismatch == null ? state : null, mismatch, r.inShards, r.savedSteps);
        }
    }

    /**
     * Compares (and with {@code apply}, loads) one shard file against the unsharded {@code full}
     * state of this run: every piece goes to its parameter by name, wherever this run's buckets
     * put it. {@code covered} adds up the floats each parameter got, for the caller to check that
     * the shards together cover every parameter once. Null, or what does not fit.
     */
    static String readShard(Path file, OptimizerState full, long steps, Map<String, Long> covered, boolean apply) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            CheckpointReader r = new CheckpointReader(ch);
            r.skip(CheckpointWriter.SHARD_MAGIC.length);
            String kind = r.readName();
            long shardSteps = r.readLong();
            int slots = r.readInt();
            int rank = r.readInt();
            int world = r.readInt();
            int count = r.readInt();
            if (!kind.equals(full.kind()) || slots != full.slotsPerBucket() || shardSteps != steps) {
                return "shard of rank " + rank + " holds " + kind + " state after " + shardSteps + " updates, the checkpoint "
                        + full.kind() + " after " + steps;
            }
            if (count < 0 || count > MAX_ENTRIES || world < 1) {
                return "shard of rank " + rank + " claims " + count + " pieces of a world of " + world + ": not a shard of this format";
            }
            Map<String, OptimizerState.Slice> where = new HashMap<>();
            full.parameters().forEach(p -> where.put(p.name(), p));
            String[] names = new String[count];
            int[] offsets = new int[count];
            int[] counts = new int[count];
            for (int i = 0; i < count; i++) {
                names[i] = r.readName();
                offsets[i] = r.readInt();
                counts[i] = r.readInt();
                OptimizerState.Slice p = where.get(names[i]);
                if (p == null || offsets[i] < 0 || counts[i] < 0 || (long) offsets[i] + counts[i] > p.count()) {
                    return "shard of rank " + rank + " holds floats " + offsets[i] + "+" + counts[i] + " of parameter " + names[i]
                            + ", which this run's model " + (p == null ? "does not have" : "has with " + p.count() + " floats");
                }
                covered.merge(names[i], (long) counts[i], Long::sum);
            }
            if (apply) {
                for (int i = 0; i < count; i++) {
                    OptimizerState.Slice p = where.get(names[i]);
                    for (int s = 0; s < slots; s++) {
                        r.readFloats(full.slot(p.bucket(), s), p.offset() + offsets[i], counts[i]);
                    }
                }
            }
            return null;
        }
    }

    private String readBody(Block block, OptimizerState optimizer, long step, boolean apply, Consumer<String> log) throws IOException {
        int count = readInt();
        if (count != block.getParameters().size()) {
            return "it holds " + count + " parameters and this run's model has " + block.getParameters().size()
                    + ": it belongs to another model";
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            String name = readName();
            long len = readLong();
            long bytes = Checkpoints.bytesOf(p);
            if (!name.equals(p.getKey()) || len != bytes) {
                return "it has parameter " + name + " (" + len + " bytes) where this run's model has " + p.getKey()
                        + " (" + bytes + " bytes): it belongs to another model";
            }
            if (apply) {
                ParameterBytes.update(p.getValue().getArray(), this::readInto);
            } else {
                skip(len);
            }
        }
        return readOptimizer(optimizer, step, apply, log);
    }

    private String readOptimizer(OptimizerState optimizer, long trainingStep, boolean apply, Consumer<String> log) throws IOException {
        int flag = readInt();
        if (flag == CheckpointWriter.NO_OPTIMIZER) {
            if (optimizer != null && apply) {
                optimizer.setSteps(trainingStep);
                log.accept("the checkpoint has no optimizer state (written on DJL's optimizer path): " + optimizer.kind()
                        + "'s state starts from zero, the learning-rate schedule at step " + trainingStep);
            }
            return null;
        }
        if (flag != CheckpointWriter.OPTIMIZER_INLINE && flag != CheckpointWriter.OPTIMIZER_IN_SHARDS) {
            return "its optimizer flag is " + flag + ": not a checkpoint of this format";
        }
        inShards = flag == CheckpointWriter.OPTIMIZER_IN_SHARDS;
        OptimizerHeader saved = readOptimizerHeader();
        if (saved.parameters() == null) {
            return "it claims " + saved.count() + " optimizer entries of " + saved.slots() + " slots: not a checkpoint of this format";
        }
        savedSteps = saved.steps();
        if (optimizer == null) {
            if (apply) {
                log.accept("the checkpoint's " + saved.kind() + " state is not loaded: this run uses DJL's optimizer");
            }
            return null;
        }
        String mismatch = optimizer.mismatch(saved.kind(), saved.parameters(), saved.slots());
        if (mismatch != null || !apply) {
            return mismatch;
        }
        optimizer.setSteps(saved.steps());
        if (inShards) {
            return null; // the caller reads the shard files
        }
        Map<String, OptimizerState.Slice> where = new HashMap<>();
        optimizer.parameters().forEach(p -> where.put(p.name(), p));
        for (String name : saved.parameters().keySet()) {
            OptimizerState.Slice p = where.get(name);
            for (int s = 0; s < saved.slots(); s++) {
                readFloats(optimizer.slot(p.bucket(), s), p.offset(), p.count());
            }
        }
        return null;
    }

    /** Without parameters when the counts are past any model's: a damaged header. */
    private OptimizerHeader readOptimizerHeader() throws IOException {
        String kind = readName();
        long steps = readLong();
        int slots = readInt();
        int count = readInt();
        if (count < 0 || count > MAX_ENTRIES || slots < 0 || slots > MAX_ENTRIES) {
            return new OptimizerHeader(kind, steps, slots, count, null);
        }
        Map<String, Integer> parameters = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String name = readName();
            parameters.put(name, readInt());
        }
        return new OptimizerHeader(kind, steps, slots, count, parameters);
    }

    private void fill(int bytes) throws IOException {
        if (buf.remaining() >= bytes) {
            return;
        }
        buf.compact();
        while (buf.position() < bytes) {
            if (in.read(buf) < 0) {
                throw new EOFException("the checkpoint ends early");
            }
        }
        buf.flip();
    }

    private int readInt() throws IOException {
        fill(4);
        return buf.getInt();
    }

    private long readLong() throws IOException {
        fill(8);
        return buf.getLong();
    }

    private String readName() throws IOException {
        int n = readInt();
        if (n < 0 || n > CheckpointWriter.BUFFER - 4) {
            throw new IOException("a name of " + n + " bytes: not a checkpoint of this format");
        }
        fill(n);
        byte[] b = new byte[n];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private void skip(long bytes) throws IOException {
        long fromBuffer = Math.min(bytes, buf.remaining());
        buf.position(buf.position() + (int) fromBuffer);
        in.position(in.position() + (bytes - fromBuffer));
    }

    /** Fills {@code target} from the stream (what the buffer holds first, then straight from the file). */
    private void readInto(ByteBuffer target) {
        try {
            int n = Math.min(buf.remaining(), target.remaining());
            target.put(buf.array(), buf.arrayOffset() + buf.position(), n);
            buf.position(buf.position() + n);
            while (target.hasRemaining()) {
                if (in.read(target) < 0) {
                    throw new EOFException("the checkpoint ends early");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void readFloats(float[] dst, int from, int count) throws IOException {
        for (int off = from; off < from + count; ) {
            fill(Float.BYTES);
            int n = Math.min(from + count - off, buf.remaining() / Float.BYTES);
            buf.asFloatBuffer().get(dst, off, n);
            buf.position(buf.position() + n * Float.BYTES);
            off += n;
        }
    }
}
