package dev.trainyard.collectives.host.transport.shm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.host.transport.FrameHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ring alone: two mappings of one file in this JVM, as two processes would hold them. */
class SharedMemoryRingTest {
    private static final int SLOTS = 3;
    private static final int PAYLOAD = 4096;
    private final byte[] nonce = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    @TempDir
    Path dir;

    @Test
    void framesArriveInOrderWithTheirHeaderAndPayloadAcrossManyWrapArounds() throws IOException {
        Path file = dir.resolve("ring");
        SharedMemoryRing consumer = SharedMemoryRing.create(file, SLOTS, PAYLOAD, nonce);
        SharedMemoryRing producer = SharedMemoryRing.open(file, SLOTS, PAYLOAD, nonce);
        ByteBuffer src = ByteBuffer.allocateDirect(3 * PAYLOAD).order(ByteOrder.nativeOrder());
        byte[] header = new byte[FrameHeader.BYTES];
        byte[] seen = new byte[FrameHeader.BYTES];
        int produced = 0;
        int consumed = 0;
        while (consumed < 50) {
            // fill until the ring is full, then drain a random number of frames
            while (producer.hasRoom()) {
                int len = produced % 7 == 0 ? 0 : 1 + (produced * 131) % PAYLOAD;
                int off = produced % 5;
                for (int i = 0; i < len; i++) {
                    src.put(off + i, (byte) (produced + i));
                }
                header[0] = (byte) produced;
                header[FrameHeader.BYTES - 1] = (byte) len;
                producer.publish(header, src, off, len);
                produced++;
            }
            assertEquals(SLOTS, produced - consumed, "the producer fills exactly the free slots");
            int drain = 1 + ThreadLocalRandom.current().nextInt(SLOTS);
            for (int k = 0; k < drain; k++) {
                int base = consumer.take();
                assertTrue(base >= 0, "a published frame is visible");
                consumer.buffer().get(base, seen);
                assertEquals((byte) consumed, seen[0]);
                int len = consumed % 7 == 0 ? 0 : 1 + (consumed * 131) % PAYLOAD;
                assertEquals((byte) len, seen[FrameHeader.BYTES - 1]);
                for (int i = 0; i < len; i++) {
                    assertEquals((byte) (consumed + i), consumer.buffer().get(SharedMemoryRing.payloadOffset(base) + i), "byte " + i);
                }
                consumer.release();
                consumed++;
            }
        }
        assertTrue(produced > 3 * SLOTS, "wrapped around several times");
    }

    @Test
    void nothingIsTakenBeforeItIsPublishedAndAFullRingRefusesRoom() throws IOException {
        Path file = dir.resolve("ring");
        SharedMemoryRing consumer = SharedMemoryRing.create(file, SLOTS, PAYLOAD, nonce);
        SharedMemoryRing producer = SharedMemoryRing.open(file, SLOTS, PAYLOAD, nonce);
        assertEquals(-1, consumer.take());
        ByteBuffer src = ByteBuffer.allocateDirect(8);
        for (int i = 0; i < SLOTS; i++) {
            producer.publish(new byte[FrameHeader.BYTES], src, 0, 8);
        }
        assertFalse(producer.hasRoom());
        int base = consumer.take();
        assertTrue(base >= 0);
        assertFalse(producer.hasRoom(), "a taken frame still occupies its slot until released");
        consumer.release();
        assertTrue(producer.hasRoom());
    }

    /** A tmpfs too small for the ring (like a container's 64 MiB /dev/shm for many peers): an exception, never SIGBUS later. */
    @Test
    void aFullTmpfsRefusesTheRingAtCreation() throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small-shm"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString()).redirectErrorStream(true).start();
        String why = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            System.out.println("SKIPPED aFullTmpfsRefusesTheRingAtCreation: cannot mount a small tmpfs here (needs root): " + why);
            Assumptions.abort("needs root to mount a tmpfs");
        }
        try {
            Path file = mount.resolve("ring");
            IOException full = assertThrows(IOException.class, () -> SharedMemoryRing.create(file, 4, 1 << 20, nonce));
            assertTrue(full.getMessage() != null, full.toString());
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }

    @Test
    void theSegmentIsOwnerOnlyAndAnotherNonceOrLayoutIsRefused() throws IOException {
        Path file = dir.resolve("ring");
        SharedMemoryRing.create(file, SLOTS, PAYLOAD, nonce);
        assertEquals(PosixFilePermissions.fromString("rw-------"), Files.getPosixFilePermissions(file));
        byte[] other = nonce.clone();
        other[15] ^= 1;
        IOException wrongNonce = assertThrows(IOException.class, () -> SharedMemoryRing.open(file, SLOTS, PAYLOAD, other));
        assertTrue(wrongNonce.getMessage().contains("nonce"), wrongNonce.getMessage());
        IOException wrongSize = assertThrows(IOException.class, () -> SharedMemoryRing.open(file, SLOTS, 2 * PAYLOAD, nonce));
        assertTrue(wrongSize.getMessage().contains("expected"), wrongSize.getMessage());
        assertThrows(IOException.class, () -> SharedMemoryRing.open(dir.resolve("absent"), SLOTS, PAYLOAD, nonce));
        Path link = Files.createSymbolicLink(dir.resolve("link"), file);
        assertThrows(IOException.class, () -> SharedMemoryRing.open(link, SLOTS, PAYLOAD, nonce), "a symbolic link is never followed");
        assertThrows(IOException.class, () -> SharedMemoryRing.create(file, SLOTS, PAYLOAD, nonce), "never reuses an existing file");
    }
}
