package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Checkpoints in a directory, written atomically: temp file, fsync, rename, fsync of the
 * directory, so a crash leaves the old checkpoint or the new one, never half of one. The file is
 * the training state, each parameter's name, size and raw bytes (read and written in place, so
 * the trainer's gradient buffers and optimizer keep pointing at the same tensors), and a CRC32
 * of everything before it. Loading takes the newest file whose checksum holds.
 *
 * <p>Optimizer state is not saved: DJL keeps it in private maps keyed by per-process parameter
 * ids. Plain SGD resumes exactly; momentum and Adam restart their statistics.
 */
public final class Checkpoints {
    private static final byte[] MAGIC = "TYCK0001".getBytes(StandardCharsets.US_ASCII);
    private static final String PREFIX = "checkpoint-";
    private static final String SUFFIX = ".tyck";

    private final Path dir;
    private final int keep;
    private final Consumer<String> log;

    public Checkpoints(Path dir, int keep, Consumer<String> log) {
        this.dir = dir;
        this.keep = Math.max(1, keep);
        this.log = log;
    }

    /** Writes {@code state} and the block's parameters; keeps the newest {@code keep} checkpoints. */
    public Path save(TrainingState state, Block block) {
        try {
            Files.createDirectories(dir);
            ByteBuffer body = encode(state, block);
            Path target = dir.resolve(String.format("%s%012d%s", PREFIX, state.step(), SUFFIX));
            Path tmp = dir.resolve(".tmp-" + target.getFileName());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                while (body.hasRemaining()) {
                    ch.write(body);
                }
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // the rename itself must survive a crash
            }
            List<Path> all = list();
            for (Path old : all.subList(Math.min(keep, all.size()), all.size())) {
                Files.deleteIfExists(old);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a checkpoint into " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Loads the newest valid checkpoint into the block's parameters; corrupt ones are reported and skipped. */
    public Optional<TrainingState> loadNewest(Block block) {
        for (Path p : list()) {
            try {
                byte[] bytes = Files.readAllBytes(p);
                String problem = check(bytes);
                if (problem == null) {
                    TrainingState state = decode(ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN), block, p);
                    log.accept("resuming from " + p + " (epoch " + (state.epoch() + 1) + ", step " + state.step() + ")");
                    return Optional.of(state);
                }
                log.accept("checkpoint " + p + " is unusable (" + problem + "); falling back to the previous one");
            } catch (IOException e) {
                log.accept("checkpoint " + p + " cannot be read (" + e.getMessage() + "); falling back to the previous one");
            }
        }
        return Optional.empty();
    }

    /** Newest first. */
    List<Path> list() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return new ArrayList<>(files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(PREFIX) && n.endsWith(SUFFIX);
            }).sorted(Comparator.comparing(Path::toString).reversed()).toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list checkpoints in " + dir, e);
        }
    }

    private static ByteBuffer encode(TrainingState state, Block block) {
        List<byte[]> names = new ArrayList<>();
        long size = MAGIC.length + 4 + 8 + 8 + 4 + 4;
        for (Pair<String, Parameter> p : block.getParameters()) {
            byte[] n = p.getKey().getBytes(StandardCharsets.UTF_8);
            names.add(n);
            size += 4 + n.length + 8 + p.getValue().getArray().size() * p.getValue().getArray().getDataType().getNumOfBytes();
        }
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size + 8)).order(ByteOrder.BIG_ENDIAN);
        out.put(MAGIC).putInt(state.epoch()).putLong(state.batchesDone()).putLong(state.step()).putInt(0).putInt(names.size());
        int i = 0;
        for (Pair<String, Parameter> p : block.getParameters()) {
            byte[] name = names.get(i++);
            ParameterBytes.read(p.getValue().getArray(), data -> out.putInt(name.length).put(name).putLong(data.remaining()).put(data.duplicate()));
        }
        CRC32 crc = new CRC32();
        crc.update(out.array(), 0, out.position());
        out.putLong(crc.getValue());
        return out.flip();
    }

    /** Null if the bytes are a whole, untouched checkpoint; else what is wrong. */
    private static String check(byte[] bytes) {
        if (bytes.length < MAGIC.length + 8 || !Arrays.equals(Arrays.copyOf(bytes, MAGIC.length), MAGIC)) {
            return "not a Trainyard checkpoint or truncated";
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 8);
        long stored = ByteBuffer.wrap(bytes, bytes.length - 8, 8).order(ByteOrder.BIG_ENDIAN).getLong();
        return crc.getValue() == stored ? null : "checksum mismatch: truncated or corrupted";
    }

    private static TrainingState decode(ByteBuffer in, Block block, Path file) {
        in.position(MAGIC.length);
        TrainingState state = new TrainingState(in.getInt(), in.getLong(), in.getLong());
        in.getInt();
        int count = in.getInt();
        if (count != block.getParameters().size()) {
            throw new IllegalStateException("checkpoint " + file + " holds " + count + " parameters but the model has "
                    + block.getParameters().size() + "; it belongs to another model");
        }
        for (Pair<String, Parameter> p : block.getParameters()) {
            byte[] n = new byte[in.getInt()];
            in.get(n);
            String name = new String(n, StandardCharsets.UTF_8);
            long len = in.getLong();
            NDArray array = p.getValue().getArray();
            long bytes = array.size() * array.getDataType().getNumOfBytes();
            if (!name.equals(p.getKey()) || len != bytes) {
                throw new IllegalStateException("checkpoint " + file + " has parameter " + name + " (" + len + " bytes) where the model has "
                        + p.getKey() + " (" + bytes + " bytes); it belongs to another model");
            }
            ByteBuffer src = in.slice(in.position(), (int) len);
            ParameterBytes.update(array, target -> target.put(src));
            in.position(in.position() + (int) len);
        }
        return state;
    }
}
