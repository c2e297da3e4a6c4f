package dev.trainyard.collectives.host.algorithm;

/**
 * How a buffer splits into one segment per rank (byte ranges), and how a segment splits into
 * pipeline chunks of whole elements.
 */
public final class Segments {
    private final int[] start;
    private final int[] length;
    private final int chunkBytes;

    private Segments(int[] start, int[] length, int elementBytes, int chunkBytes) {
        this.start = start;
        this.length = length;
        this.chunkBytes = Math.max(elementBytes, chunkBytes / elementBytes * elementBytes);
    }

    /** {@code count} elements spread as evenly as possible; the first {@code count % n} segments get one more. */
    public static Segments balanced(long count, int n, int elementBytes, int chunkBytes) {
        int[] start = new int[n];
        int[] length = new int[n];
        long base = count / n;
        long extra = count % n;
        long at = 0;
        for (int i = 0; i < n; i++) {
            long elems = base + (i < extra ? 1 : 0);
            start[i] = Math.toIntExact(at * elementBytes);
            length[i] = Math.toIntExact(elems * elementBytes);
            at += elems;
        }
        return new Segments(start, length, elementBytes, chunkBytes);
    }

    /** {@code n} blocks of {@code blockBytes} each (all-gather output, reduce-scatter input). */
    public static Segments blocks(int n, int blockBytes, int elementBytes, int chunkBytes) {
        int[] start = new int[n];
        int[] length = new int[n];
        for (int i = 0; i < n; i++) {
            start[i] = Math.multiplyExact(i, blockBytes);
            length[i] = blockBytes;
        }
        return new Segments(start, length, elementBytes, chunkBytes);
    }

    int start(int segment) {
        return start[segment];
    }

    int length(int segment) {
        return length[segment];
    }

    /** Chunks in a segment; an empty segment still has one (empty) chunk so every step sends a frame. */
    int chunks(int segment) {
        return Math.max(1, (length[segment] + chunkBytes - 1) / chunkBytes);
    }

    /** Byte offset of chunk {@code c} within its segment. */
    int chunkOffset(int c) {
        return c * chunkBytes;
    }

    int chunkLength(int segment, int c) {
        return Math.min(chunkBytes, length[segment] - c * chunkBytes);
    }
}
