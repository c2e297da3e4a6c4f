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
    private final ByteBuffer buf = ByteBuffer.allocate(CheckpointWriter.BUFFER).order(ByteOrder.BIG_ENDIAN);

    private CheckpointReader(FileChannel in) {
        this.in = in;
        buf.flip();
    }

    /** Null if the file is a whole, untouched checkpoint of this format; else what is wrong. */
    static String verify(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            byte[] magic = CheckpointWriter.MAGIC;
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

    /** The position a checkpoint holds, or why it does not fit this run (then nothing was loaded). */
    record Outcome(TrainingState state, String mismatch) {
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
            return new Outcome(mismatch == null ? state : null, mismatch);
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
        if (readInt() == 0) {
            if (optimizer != null && apply) {
                optimizer.setSteps(trainingStep);
                log.accept("the checkpoint has no optimizer state (written on DJL's optimizer path): " + optimizer.kind()
                        + "'s state starts from zero, the learning-rate schedule at step " + trainingStep);
            }
            return null;
        }
        String kind = readName();
        long steps = readLong();
        int slots = readInt();
        int count = readInt();
        if (count < 0 || count > MAX_ENTRIES || slots < 0 || slots > MAX_ENTRIES) {
            return "it claims " + count + " optimizer entries of " + slots + " slots: not a checkpoint of this format";
        }
        Map<String, Integer> saved = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            String name = readName();
            saved.put(name, readInt());
        }
        if (optimizer == null) {
            if (apply) {
                log.accept("the checkpoint's " + kind + " state is not loaded: this run uses DJL's optimizer");
            }
            return null;
        }
        String mismatch = optimizer.mismatch(kind, saved, slots);
        if (mismatch != null || !apply) {
            return mismatch;
        }
        optimizer.setSteps(steps);
        Map<String, OptimizerState.Slice> where = new HashMap<>();
        optimizer.parameters().forEach(p -> where.put(p.name(), p));
        for (String name : saved.keySet()) {
            OptimizerState.Slice p = where.get(name);
            for (int s = 0; s < slots; s++) {
                readFloats(optimizer.slot(p.bucket(), s), p.offset(), p.count());
            }
        }
        return null;
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
