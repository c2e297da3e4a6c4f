package dev.trainyard.collectives.host;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.SharedMemoryFiles;
import dev.trainyard.collectives.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Ranks that share a host really use shared memory, and leave nothing in /dev/shm. */
class SharedMemoryTransportTest {

    /**
     * Three ranks: every peer's ring and the group's host segment are mapped, and 3 MiB (two
     * rounds of the segment's 2 MiB slots) reduce right. Two ranks keep the ring, whose 1 MiB
     * frames wrap around its 4 slots.
     */
    @ParameterizedTest
    @ValueSource(ints = {2, 3})
    void ranksOnOneHostUseSharedMemoryAndLeaveNoSegmentBehind(int ranks) throws IOException {
        assumeSharedMemory();
        String prefix;
        try (LocalGroup g = new LocalGroup(ranks, Transport.SHARED_MEMORY)) {
            prefix = SharedMemoryFiles.prefix(g.token);
            for (HostCommunicator c : g.comms) {
                assertEquals(ranks - 1, c.sharedMemoryPeers(), "rank " + c.rank() + " maps every peer's ring");
                assertEquals(ranks > 2, c.usesHostSegment(), "rank " + c.rank() + " all-reduces through the host segment");
            }
            assertEquals(List.of(), jobFiles(prefix), "segments are unlinked as soon as all sides mapped them");
            int n = 3 << 18;
            List<FloatBuffer> out = g.onAll(r -> {
                ByteBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
                FloatBuffer f = b.asFloatBuffer();
                for (int i = 0; i < n; i++) {
                    f.put(i, r * 1000 + i % 977);
                }
                g.comm(r).allReduce(b, DataType.FLOAT32, ReduceOp.SUM);
                return f;
            });
            for (FloatBuffer f : out) {
                for (int i = 0; i < n; i += 4099) {
                    assertEquals(ranks * (ranks - 1) * 500 + ranks * (i % 977), f.get(i), 0f, "element " + i);
                }
            }
        }
        assertEquals(List.of(), jobFiles(prefix));
    }

    @Test
    void tcpTransportStaysOnTcp() {
        try (LocalGroup g = new LocalGroup(2, Transport.TCP)) {
            assertEquals(0, g.comms.get(0).sharedMemoryPeers());
            assertFalse(g.comms.get(0).usesHostSegment());
        }
    }

    static void assumeSharedMemory() {
        assumeTrue(Files.isDirectory(SharedMemoryFiles.DIRECTORY) && Files.isWritable(SharedMemoryFiles.DIRECTORY),
                () -> {
                    System.out.println("SKIPPED: " + SharedMemoryFiles.DIRECTORY + " is missing or not writable here");
                    return "no writable /dev/shm";
                });
    }

    static List<String> jobFiles(String prefix) throws IOException {
        try (Stream<Path> files = Files.list(SharedMemoryFiles.DIRECTORY)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).toList();
        }
    }
}
