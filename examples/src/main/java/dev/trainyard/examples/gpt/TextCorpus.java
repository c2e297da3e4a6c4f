package dev.trainyard.examples.gpt;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Text as bytes for a byte-level language model (vocabulary 256: any UTF-8 text, no tokenizer to
 * ship). The default is Debian's {@code fortunes} package: 2.4 MB of English quotations, jokes,
 * definitions and literature in plain files under {@link #FORTUNES}, varied enough that a small
 * model must learn spelling, words and punctuation, and small enough for a few epochs on a CPU.
 * The last tenth of the bytes is held out for validation.
 *
 * @param bytes every text file of the directory, in name order, concatenated
 */
public record TextCorpus(byte[] bytes, String source) {
    public static final Path FORTUNES = Path.of("/usr/share/games/fortunes");
    public static final int VOCABULARY = 256;

    /**
     * The regular files of {@code dir} that hold text: not the {@code .dat} indexes of
     * {@code strfile}, not the {@code .u8} links to the same files.
     */
    public static TextCorpus load(Path dir, long limitBytes) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("no text corpus at " + dir + ": install it with 'apt-get install fortunes' or pass --corpus DIR "
                    + "(a directory of text files)");
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(f -> Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .filter(f -> !f.getFileName().toString().endsWith(".dat")).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no text files in " + dir + "; pass --corpus DIR with at least one");
        }
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (Path f : files) {
            all.write(Files.readAllBytes(f));
            if (all.size() >= limitBytes) {
                break;
            }
        }
        byte[] bytes = all.toByteArray();
        if (bytes.length > limitBytes) {
            bytes = Arrays.copyOf(bytes, (int) limitBytes);
        }
        return new TextCorpus(bytes, dir + " (" + files.size() + " files)");
    }

    /** Fails, saying what to change, unless both the training and the validation part hold a window of {@code context} bytes. */
    public void requireFits(int context) {
        if (windowCount(true, context) < 1 || windowCount(false, context) < 1) {
            throw new IllegalArgumentException("the corpus (" + bytes.length + " bytes, a tenth of them for validation) is too small for windows of "
                    + context + " bytes; use a larger corpus or a shorter --context");
        }
    }

    private int windowCount(boolean train, int context) {
        int from = train ? 0 : split();
        int to = train ? split() : bytes.length;
        return (to - from - 1) / context;
    }

    /** Where validation starts: the last tenth. */
    private int split() {
        return bytes.length - bytes.length / 10;
    }

    /**
     * Non-overlapping windows of {@code context} bytes, each labelled with the same window one byte
     * later (every position predicts its next byte).
     */
    public ArrayDataset.Builder windows(NDManager manager, boolean train, int context) {
        requireFits(context);
        int from = train ? 0 : split();
        int count = windowCount(train, context);
        long[] x = new long[count * context];
        long[] y = new long[count * context];
        for (int w = 0; w < count; w++) {
            for (int t = 0; t < context; t++) {
                x[w * context + t] = bytes[from + w * context + t] & 0xff;
                y[w * context + t] = bytes[from + w * context + t + 1] & 0xff;
            }
        }
        Shape shape = new Shape(count, context);
        return new ArrayDataset.Builder().setData(manager.create(x, shape)).optLabels(manager.create(y, shape));
    }
}
