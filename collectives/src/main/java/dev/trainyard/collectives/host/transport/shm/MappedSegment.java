package dev.trainyard.collectives.host.transport.shm;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;

/**
 * A file under {@code /dev/shm} that several processes of one job map: created owner-only by
 * one rank, which writes a random nonce at offset 0; opened by the others, who check size and
 * nonce (learnt through the authenticated store), so nobody trusts a file by its name alone.
 */
final class MappedSegment {
    static final int NONCE_BYTES = 16;

    private MappedSegment() {
    }

    /** Creates the file (owner-only, every page allocated), maps it and writes the nonce. */
    static MappedByteBuffer create(Path file, long bytes, byte[] nonce) throws IOException {
        requireMappable(bytes);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            allocate(ch, bytes);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes);
            map.order(ByteOrder.nativeOrder());
            map.put(0, nonce);
            return map;
        }
    }

    /** Maps a file another rank created; fails unless it has the expected size and nonce. */
    static MappedByteBuffer open(Path file, long bytes, byte[] nonce) throws IOException {
        requireMappable(bytes);
        // no symbolic links: the name must be the peer's own file in /dev/shm
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            if (ch.size() != bytes) {
                throw new IOException(file + " holds " + ch.size() + " bytes, expected " + bytes + " (different chunk size, window or group)");
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, bytes);
            map.order(ByteOrder.nativeOrder());
            byte[] seen = new byte[NONCE_BYTES];
            map.get(0, seen);
            if (!Arrays.equals(seen, nonce)) {
                throw new IOException(file + " is not the segment the peer published (nonce differs)");
            }
            return map;
        }
    }

    /**
     * Writes the whole file, so tmpfs allocates every page now: a full {@code /dev/shm} (containers
     * often get 64 MiB) then fails here with an IOException, and the ranks keep to the path they
     * had, instead of the process dying of SIGBUS at the first write into a page that cannot exist.
     */
    private static void allocate(FileChannel ch, long bytes) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
        for (long at = 0; at < bytes; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - at));
            at += ch.write(zeros, at);
        }
    }

    private static void requireMappable(long bytes) throws IOException {
        if (bytes > Integer.MAX_VALUE) {
            throw new IOException("a segment of " + bytes + " bytes is larger than one mapping allows; lower the chunk size or window");
        }
    }
}
