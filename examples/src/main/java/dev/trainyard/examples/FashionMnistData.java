package dev.trainyard.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.dataset.ArrayDataset;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

/**
 * Fashion-MNIST from its IDX files ({@code train-images-idx3-ubyte[.gz]} and friends), pixels
 * scaled to [0, 1]. Debian's {@code dataset-fashion-mnist} installs them in {@link #DEBIAN_DIR}.
 */
record FashionMnistData(float[] images, int[] labels, int count, boolean synthetic) {
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
        float[] images = readImages(file(dir, prefix + "-images-idx3-ubyte"), limit);
        int[] labels = readLabels(file(dir, prefix + "-labels-idx1-ubyte"), limit);
        if (labels.length * PIXELS != images.length) {
            throw new IOException(dir + ": " + labels.length + " labels but " + images.length / PIXELS + " images");
        }
        return new FashionMnistData(images, labels, labels.length, false);
    }

    /** The set as a DJL dataset builder: images of {@code sampleShape} each (flat 784 or 1x28x28), float labels. */
    ArrayDataset.Builder toDataset(NDManager manager, Shape sampleShape) {
        float[] floatLabels = new float[count];
        for (int i = 0; i < count; i++) {
            floatLabels[i] = labels[i];
        }
        return new ArrayDataset.Builder().setData(manager.create(images, new Shape(count).addAll(sampleShape)))
                .optLabels(manager.create(floatLabels));
    }

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
        float[] images = new float[count * PIXELS];
        int[] labels = new int[count];
        for (int n = 0; n < count; n++) {
            labels[n] = r.nextInt(CLASSES);
            for (int i = 0; i < PIXELS; i++) {
                images[n * PIXELS + i] = Math.min(1f, Math.max(0f, template[labels[n]][i] + (float) (r.nextGaussian() * 0.6)));
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

    private static float[] readImages(Path p, int limit) throws IOException {
        try (DataInputStream in = open(p)) {
            int n = Math.min(imageHeader(in, p), limit);
            byte[] raw = new byte[n * PIXELS];
            in.readFully(raw);
            float[] out = new float[raw.length];
            for (int i = 0; i < raw.length; i++) {
                out[i] = (raw[i] & 0xff) / 255f;
            }
            return out;
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
