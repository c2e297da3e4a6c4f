package dev.trainyard.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.translate.Pipeline;
import ai.djl.translate.Transform;
import dev.trainyard.runtime.UserCache;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its IDX files ({@code train-images-idx3-ubyte[.gz]} and friends). Debian's
 * {@code dataset-fashion-mnist} installs them gzipped in {@link #DEBIAN_DIR}.
 *
 * <p>Pixels stay bytes until a batch needs them: the dataset holds the 47 MB of uint8 pixels as
 * one tensor and scales each batch to float32 in [0, 1] as it is drawn, where converting the
 * whole set up front cost 0.5-1.3 s of every start on one core (a 188 MB float array in Java,
 * then a 188 MB tensor). A gzipped file is decompressed once into the {@link UserCache} and mapped
 * from there by later starts (decompressing took 0.2-0.5 s each time).
 *
 * @param pixels {@code count} images of 28x28 bytes, row by row
 */
record FashionMnistData(ByteBuffer pixels, int[] labels, int count, boolean synthetic) {
    static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    /** Where the examples look when not told ({@code --data}): {@value #DIR_PROPERTY}, else {@link #DEBIAN_DIR}. */
    static final String DIR_PROPERTY = "trainyard.fashionMnist.dir";
    static final int PIXELS = 28 * 28;
    static final int CLASSES = 10;

    /** The directory the examples read when no {@code --data} is given; a missing one means synthetic data. */
    static Path defaultDir() {
        String dir = System.getProperty(DIR_PROPERTY);
        return dir != null ? Path.of(dir) : DEBIAN_DIR;
    }

    static FashionMnistData load(Path dir, boolean train, int limit) throws IOException {
        String prefix = train ? "train" : "t10k";
        ByteBuffer images = readImages(file(dir, prefix + "-images-idx3-ubyte"), limit);
        int[] labels = readLabels(file(dir, prefix + "-labels-idx1-ubyte"), limit);
        if ((long) labels.length * PIXELS != images.remaining()) {
            throw new IOException(dir + ": " + labels.length + " labels but " + images.remaining() / PIXELS + " images");
        }
        return new FashionMnistData(images, labels, labels.length, false);
    }

    /**
     * The set as a DJL dataset builder: images of {@code sampleShape} each (flat 784 or 1x28x28),
     * scaled to [0, 1] batch by batch ({@link #SCALE}), float labels.
     */
    ArrayDataset.Builder toDataset(NDManager manager, Shape sampleShape) {
        float[] floatLabels = new float[count];
        for (int i = 0; i < count; i++) {
            floatLabels[i] = labels[i];
        }
        return new ArrayDataset.Builder().setData(manager.create(pixels.duplicate(), new Shape(count).addAll(sampleShape), DataType.UINT8))
                .optLabels(manager.create(floatLabels)).optPipeline(new Pipeline(SCALE));
    }

    /** Bytes to float32 in [0, 1]: on a whole batch at once (DJL's bulk batches run the pipeline per batch). */
    private static final Transform SCALE = bytes -> bytes.toType(DataType.FLOAT32, false).divi(255f);

    /** True if {@code dir} holds all four files (compressed or not). */
    static boolean present(Path dir) {
        for (String f : new String[] {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
            if (!Files.isReadable(dir.resolve(f)) && !Files.isReadable(dir.resolve(f + ".gz"))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Reads only the four headers: magic numbers, counts and image size must be Fashion-MNIST's.
     *
     * @return e.g. "60000 train + 10000 test images of 28x28"
     * @throws IOException naming the file and what is wrong with it
     */
    static String describe(Path dir) throws IOException {
        int[] counts = new int[2];
        String[] sets = {"train", "t10k"};
        for (int s = 0; s < 2; s++) {
            Path images = file(dir, sets[s] + "-images-idx3-ubyte");
            Path labels = file(dir, sets[s] + "-labels-idx1-ubyte");
            int n;
            try (DataInputStream in = open(images)) {
                n = imageHeader(in, images);
            }
            try (DataInputStream in = open(labels)) {
                int m = labelHeader(in, labels);
                if (m != n) {
                    throw new IOException(dir + ": " + m + " " + sets[s] + " labels but " + n + " images");
                }
            }
            counts[s] = n;
        }
        return counts[0] + " train + " + counts[1] + " test images of 28x28 in " + dir;
    }

    /**
     * Same shapes as the real set, learnable but not trivially: each class is a fixed random
     * template plus per-sample noise. Used only when no data is installed.
     */
    static FashionMnistData synthetic(int count, long seed) {
        SplittableRandom templates = new SplittableRandom(42);
        float[][] template = new float[CLASSES][PIXELS];
        for (float[] t : template) {
            for (int i = 0; i < PIXELS; i++) {
                t[i] = (float) templates.nextDouble();
            }
        }
        SplittableRandom r = new SplittableRandom(seed);
        ByteBuffer images = ByteBuffer.allocateDirect(count * PIXELS);
        int[] labels = new int[count];
        for (int n = 0; n < count; n++) {
            labels[n] = r.nextInt(CLASSES);
            for (int i = 0; i < PIXELS; i++) {
                float v = Math.min(1f, Math.max(0f, template[labels[n]][i] + (float) (r.nextGaussian() * 0.6)));
                images.put(n * PIXELS + i, (byte) Math.round(v * 255));
            }
        }
        return new FashionMnistData(images, labels, count, true);
    }

    private static Path file(Path dir, String name) throws IOException {
        Path plain = dir.resolve(name);
        if (Files.isReadable(plain)) {
            return plain;
        }
        Path gz = dir.resolve(name + ".gz");
        if (Files.isReadable(gz)) {
            return gz;
        }
        throw new IOException("no " + name + "[.gz] in " + dir);
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream in = Files.newInputStream(p);
        return new DataInputStream(new java.io.BufferedInputStream(p.toString().endsWith(".gz") ? new GZIPInputStream(in, 1 << 16) : in, 1 << 16));
    }

    /** Checks an image file's header; returns its image count. */
    private static int imageHeader(DataInputStream in, Path p) throws IOException {
        if (in.readInt() != 0x803) {
            throw new IOException(p + " is not an IDX image file (bad magic number)");
        }
        int n = in.readInt();
        int rows = in.readInt();
        int cols = in.readInt();
        if (rows * cols != PIXELS) {
            throw new IOException(p + " holds " + rows + "x" + cols + " images; Fashion-MNIST is 28x28");
        }
        return n;
    }

    /** Checks a label file's header; returns its label count. */
    private static int labelHeader(DataInputStream in, Path p) throws IOException {
        if (in.readInt() != 0x801) {
            throw new IOException(p + " is not an IDX label file (bad magic number)");
        }
        return in.readInt();
    }

    /** The images of an IDX file: mapped, from the user's cache when the file is gzipped. */
    private static ByteBuffer readImages(Path p, int limit) throws IOException {
        Path plain = p;
        if (p.toString().endsWith(".gz")) {
            try {
                plain = decompressed(p, UserCache.dir().resolve("datasets"));
            } catch (IOException cacheUnusable) {
                try (DataInputStream in = open(p)) { // no cache: decompress into memory, as every start then must
                    int n = Math.min(imageHeader(in, p), limit);
                    ByteBuffer images = ByteBuffer.allocateDirect(n * PIXELS);
                    images.put(in.readNBytes(n * PIXELS)).flip();
                    return images;
                }
            }
        }
        try (DataInputStream in = open(plain); FileChannel ch = FileChannel.open(plain, StandardOpenOption.READ)) {
            int n = Math.min(imageHeader(in, plain), limit);
            if (ch.size() < 16 + (long) n * PIXELS) {
                throw new IOException(plain + " ends before its " + n + " images do");
            }
            return ch.map(FileChannel.MapMode.READ_ONLY, 16, (long) n * PIXELS);
        }
    }

    /**
     * {@code gz} decompressed into {@code cache} once, under a name that holds the source's size and
     * modification time (a changed source gets a new file); written to a temp file and renamed, so
     * workers starting together never read half a file.
     */
    static Path decompressed(Path gz, Path cache) throws IOException {
        Path target = cache.resolve(gz.getFileName().toString().replaceFirst("\\.gz$", "") + "-" + Files.size(gz) + "-"
                + Files.getLastModifiedTime(gz).toMillis());
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(cache);
        Path tmp = Files.createTempFile(cache, ".", ".tmp");
        try {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(gz), 1 << 16)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return target;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static int[] readLabels(Path p, int limit) throws IOException {
        try (DataInputStream in = open(p)) {
            int n = Math.min(labelHeader(in, p), limit);
            byte[] raw = new byte[n];
            in.readFully(raw);
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                out[i] = raw[i];
            }
            return out;
        }
    }
}
