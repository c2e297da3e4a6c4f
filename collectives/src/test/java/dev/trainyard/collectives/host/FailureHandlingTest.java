package dev.trainyard.collectives.host;

import static dev.trainyard.collectives.host.Elements.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveTimeoutException;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.FingerprintMismatchException;
import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.host.transport.tcp.TcpHandshake;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.InMemoryStore;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Never wrong numbers, never a hang: mismatches, silent ranks, dead peers and aborts. */
class FailureHandlingTest {


    @ParameterizedTest
    @EnumSource(Transport.class)
    void severalCollectivesInFlightCompleteInIssueOrderWithCorrectResults(Transport transport) {
        int n = 3;
        try (LocalGroup g = new LocalGroup(n, transport)) {
            List<List<Long>> orders = g.onAll(r -> {
                List<Long> order = Collections.synchronizedList(new ArrayList<>());
                ByteBuffer big = floats(1 << 20, r + 1);          // ring
                ByteBuffer small = floats(100, 10 * (r + 1));     // direct
                ByteBuffer bc = floats(5000, r);                   // broadcast from rank 1
                ByteBuffer gathered = Elements.allocate(DataType.FLOAT32, 7 * n);
                List<Work> works = List.of(
                        g.comm(r).allReduceAsync(big, DataType.FLOAT32, ReduceOp.SUM),
                        g.comm(r).allReduceAsync(small, DataType.FLOAT32, ReduceOp.MAX),
                        g.comm(r).broadcastAsync(bc, DataType.FLOAT32, 1),
                        g.comm(r).allGatherAsync(floats(7, r), gathered, DataType.FLOAT32),
                        g.comm(r).barrierAsync());
                works.forEach(w -> w.toCompletionStage().thenRun(() -> order.add(w.fingerprint().seq())));
                works.get(4).await();
                works.forEach(Work::await);
                assertEquals(6f, big.getFloat(4 * 12345));
                assertEquals(30f, small.getFloat(4 * 99));
                assertEquals(1f, bc.getFloat(4 * 4999));
                for (int src = 0; src < n; src++) {
                    assertEquals((float) src, gathered.getFloat(4 * (src * 7 + 6)));
                }
                return order;
            });
            for (List<Long> order : orders) {
                assertEquals(List.of(0L, 1L, 2L, 3L, 4L), order, "completion order");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void mismatchedCountFailsEveryRankNamingBothRanksAndFingerprints(Transport transport) {
        try (LocalGroup g = new LocalGroup(3, transport, Duration.ofSeconds(60))) {
            List<CollectiveException> errors = g.onAll(r -> assertThrows(CollectiveException.class,
                    () -> g.comm(r).allReduce(floats(r == 2 ? 11 : 10, 1), DataType.FLOAT32, ReduceOp.SUM)));
            for (CollectiveException e : errors) {
                assertInstanceOf(FingerprintMismatchException.class, e, e.toString());
                String m = e.getMessage();
                assertTrue(m.contains("rank 2"), m);
                assertTrue(m.contains("ALL_REDUCE #0 (SUM, FLOAT32, 11 elements)"), m);
                assertTrue(m.contains("ALL_REDUCE #0 (SUM, FLOAT32, 10 elements)"), m);
            }
        }
    }

    /** Large enough for the ring, or for the host segment where ranks share memory. */
    @ParameterizedTest
    @EnumSource(Transport.class)
    void mismatchedCountOfALargeAllReduceFailsEveryRankNamingBothFingerprints(Transport transport) {
        try (LocalGroup g = new LocalGroup(3, transport, Duration.ofSeconds(60))) {
            long t0 = System.nanoTime();
            List<CollectiveException> errors = g.onAll(r -> assertThrows(CollectiveException.class,
                    () -> g.comm(r).allReduce(floats(r == 2 ? 100_001 : 100_000, 1), DataType.FLOAT32, ReduceOp.SUM)));
            assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "found at once, not at the 60 s timeout");
            for (CollectiveException e : errors) {
                assertInstanceOf(FingerprintMismatchException.class, e, e.toString());
                assertTrue(e.getMessage().contains("100001 elements") && e.getMessage().contains("100000 elements"), e.getMessage());
            }
        }
    }

    /** A rank in another collective: on the host segment its first frame gives it away while the others wait to arrive. */
    @ParameterizedTest
    @EnumSource(Transport.class)
    void aRankRunningAnotherCollectiveIsAMismatchFoundAtOnce(Transport transport) {
        try (LocalGroup g = new LocalGroup(3, transport, Duration.ofSeconds(60))) {
            long t0 = System.nanoTime();
            List<CollectiveException> errors = g.onAll(r -> assertThrows(CollectiveException.class, () -> {
                if (r == 2) {
                    g.comm(r).broadcast(floats(100_000, 1), DataType.FLOAT32, 2);
                } else {
                    g.comm(r).allReduce(floats(100_000, 1), DataType.FLOAT32, ReduceOp.SUM);
                }
            }));
            assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "found at once, not at the 60 s timeout");
            for (CollectiveException e : errors) {
                assertInstanceOf(FingerprintMismatchException.class, e, e.toString());
                assertTrue(e.getMessage().contains("BROADCAST #0") && e.getMessage().contains("ALL_REDUCE #0"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void disagreementAboutTheBroadcastRootIsDetected(Transport transport) {
        try (LocalGroup g = new LocalGroup(3, transport, Duration.ofSeconds(60))) {
            List<CollectiveException> errors = g.onAll(r -> assertThrows(FingerprintMismatchException.class,
                    () -> g.comm(r).broadcast(floats(1000, r), DataType.FLOAT32, r == 0 ? 0 : 1)));
            for (CollectiveException e : errors) {
                assertTrue(e.getMessage().contains("root 0") && e.getMessage().contains("root 1"), e.getMessage());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void rankThatNeverCallsIsNamedByTheTimeout(Transport transport) {
        Duration timeout = Duration.ofMillis(1500);
        try (LocalGroup g = new LocalGroup(3, transport, timeout)) {
            long t0 = System.nanoTime();
            List<CollectiveException> errors = g.onAll(r -> r == 2 ? null : assertThrows(CollectiveException.class,
                    () -> g.comm(r).allReduce(floats(100_000, 1), DataType.FLOAT32, ReduceOp.SUM)));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 10, "took " + seconds + " s");
            for (int r = 0; r < 2; r++) {
                CollectiveException e = errors.get(r);
                assertInstanceOf(CollectiveTimeoutException.class, e, e.toString());
                assertEquals(List.of(2), e.ranks(), e.getMessage());
                assertTrue(e.getMessage().contains("rank 2 has not called it"), e.getMessage());
            }
            // The silent rank was told, so its next call fails at once instead of waiting.
            CollectiveException late = assertThrows(CollectiveException.class,
                    () -> g.comm(2).allReduce(floats(100_000, 1), DataType.FLOAT32, ReduceOp.SUM));
            assertTrue(late.getMessage().contains("rank 2 has not called it"), late.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void peerWhoseServerDiesMidCollectiveFailsTheOthersWithinSecondsNamingIt(Transport transport) throws Exception {
        try (LocalGroup g = new LocalGroup(3, transport, Duration.ofSeconds(120))) {
            Work w0 = g.comm(0).allReduceAsync(floats(1 << 20, 1), DataType.FLOAT32, ReduceOp.SUM);
            Work w1 = g.comm(1).allReduceAsync(floats(1 << 20, 1), DataType.FLOAT32, ReduceOp.SUM);
            assertFalse(w0.await(Duration.ofMillis(300)), "must still wait for rank 2");
            long t0 = System.nanoTime();
            g.comm(2).crashForTest();
            for (Work w : List.of(w0, w1)) {
                CollectiveException e = assertThrows(CollectiveException.class, w::await);
                assertInstanceOf(PeerFailureException.class, e, e.toString());
                assertEquals(List.of(2), e.ranks(), e.getMessage());
                assertTrue(e.getMessage().contains("rank 2 is gone"), e.getMessage());
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertTrue(seconds < 5, "peer loss took " + seconds + " s to surface (timeout is 120 s)");
        }
    }

    /**
     * A 64 MiB ring stuck mid-flight (rank 1 never calls, so on TCP rank 0's writer blocks in a write
     * from the caller's buffer once rank 1's window and the socket buffers are full) is aborted: at
     * the moment its work fails no thread of rank 0 still sends from the buffer, nothing writes into
     * it afterwards, and the queued works fail after it, in issue order.
     */
    @ParameterizedTest
    @EnumSource(Transport.class)
    void abortedWorkNeverTouchesItsBufferAgainAndFailuresArriveInIssueOrder(Transport transport) throws Exception {
        try (LocalGroup g = new LocalGroup(2, transport, Duration.ofSeconds(120))) {
            HostCommunicator c = g.comm(0);
            ByteBuffer big = floats(16 << 20, 1);
            List<Long> order = Collections.synchronizedList(new ArrayList<>());
            int[] sendingAtFailure = {-1};
            List<Work> works = new ArrayList<>();
            works.add(c.allReduceAsync(big, DataType.FLOAT32, ReduceOp.SUM));
            for (int i = 0; i < 3; i++) {
                works.add(c.allReduceAsync(floats(1000, 1), DataType.FLOAT32, ReduceOp.SUM));
            }
            works.get(0).toCompletionStage().whenComplete((v, t) -> sendingAtFailure[0] = c.framesReadingCallerBuffers());
            for (Work w : works) {
                w.toCompletionStage().whenComplete((v, t) -> order.add(w.fingerprint().seq()));
            }
            assertFalse(works.get(0).await(Duration.ofMillis(500)), "rank 1 has not called: the ring is stuck");
            c.abort("test abort");
            for (Work w : works) {
                assertThrows(CollectiveException.class, w::await);
            }
            assertEquals(0, sendingAtFailure[0], "no thread still sent from the buffer when its work failed");
            long crc = crc(big);
            // a window in which a stray writer would show, not a synchronisation: abort has already joined every thread it stopped
            Thread.sleep(300);
            assertEquals(crc, crc(big), "nothing wrote into the buffer after its work failed");
            assertEquals(List.of(0L, 1L, 2L, 3L), order, "failures in issue order");
        }
    }

    private static long crc(ByteBuffer b) {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b.duplicate().clear());
        return crc.getValue();
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void abortFailsPendingWorkAtOnceAndReleasesPortAndThread(Transport transport) throws Exception {
        LocalGroup g = new LocalGroup(2, transport, Duration.ofSeconds(120));
        try {
            HostCommunicator c = g.comm(0);
            int port = c.port();
            List<Work> works = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                works.add(c.allReduceAsync(floats(1000, 1), DataType.FLOAT32, ReduceOp.SUM));
            }
            assertFalse(works.get(0).await(Duration.ofMillis(200)), "rank 1 has not called yet");
            long t0 = System.nanoTime();
            c.abort("test abort");
            for (Work w : works) {
                assertTrue(w.isDone());
                assertInstanceOf(CommunicatorAbortedException.class, w.exception());
            }
            assertTrue((System.nanoTime() - t0) / 1e9 < 5);
            // The peer was told: its call fails at once instead of waiting 120 s for rank 0.
            long t1 = System.nanoTime();
            CollectiveException e = assertThrows(CollectiveException.class,
                    () -> g.comm(1).allReduce(floats(1000, 1), DataType.FLOAT32, ReduceOp.SUM));
            assertTrue((System.nanoTime() - t1) / 1e9 < 5);
            assertTrue(e.getMessage().contains("test abort") || e.getMessage().contains("rank 0"), e.getMessage());
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress("127.0.0.1", port));
            }
            boolean threadAlive = Thread.getAllStackTraces().keySet().stream()
                    .anyMatch(t -> t.getName().equals("trainyard-collectives-rank-0") && t.isAlive());
            assertFalse(threadAlive, "the collective thread must be gone");
            assertThrows(IllegalStateException.class, () -> c.allReduceAsync(floats(1, 1), DataType.FLOAT32, ReduceOp.SUM));
        } finally {
            g.close();
        }
    }

    @Test
    void groupOfOneNeedsNoNetworkAndHandlesEmptyBuffers() {
        InMemoryStore store = new InMemoryStore(Duration.ofSeconds(1));
        try (HostCommunicator c = HostCommunicator.connect(store, 0, 1, CommunicatorOptions.defaults(JobToken.generate()))) {
            assertEquals(-1, c.port());
            float[] data = {1, 2, 3};
            c.allReduce(data, ReduceOp.AVG);
            assertEquals(2f, data[1]);
            c.allReduce(new float[0], ReduceOp.SUM);
            c.barrier();
            assertEquals(3, c.allGather(new float[] {4, 5, 6}).length);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void badArgumentsAreRejectedAtTheCallWithAClearMessage(Transport transport) {
        try (LocalGroup g = new LocalGroup(2, transport)) {
            HostCommunicator c = g.comm(0);
            IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                    () -> c.allReduceAsync(ByteBuffer.allocate(8), DataType.FLOAT32, ReduceOp.SUM));
            assertTrue(heap.getMessage().contains("direct ByteBuffer"), heap.getMessage());
            IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                    () -> c.allReduceAsync(ByteBuffer.allocateDirect(6), DataType.FLOAT32, ReduceOp.SUM));
            assertTrue(odd.getMessage().contains("not a multiple"), odd.getMessage());
            IllegalArgumentException root = assertThrows(IllegalArgumentException.class,
                    () -> c.broadcastAsync(ByteBuffer.allocateDirect(8), DataType.FLOAT32, 2));
            assertTrue(root.getMessage().contains("root 2"), root.getMessage());
            assertNotNull(assertThrows(IllegalArgumentException.class,
                    () -> c.allGatherAsync(ByteBuffer.allocateDirect(8), ByteBuffer.allocateDirect(8), DataType.FLOAT32)));
        }
    }

    @Test
    void tcpDataPlaneRefusesAWrongTokenAndTheGroupCarriesOn() throws Exception {
        try (LocalGroup g = new LocalGroup(2, Transport.TCP)) {
            int port = g.comm(1).tcpPort();
            try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(new InetSocketAddress("127.0.0.1", port))) {
                java.io.IOException e = assertThrows(java.io.IOException.class,
                        () -> new TcpHandshake(JobToken.generate(), 0, 2).offer(ch, 1));
                // with another token neither side's proof verifies: the stranger stops at the listener's
                assertTrue(e.getMessage().contains("could not prove it holds the job token"), e.getMessage());
            }
            List<float[]> out = g.onAll(r -> {
                float[] v = {r + 1f};
                g.comm(r).allReduce(v, ReduceOp.SUM);
                return v;
            });
            assertEquals(3f, out.get(0)[0]);
            assertEquals(3f, out.get(1)[0]);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void buffersAreTheCallersAgainTheMomentWorkCompletes(Transport transport) {
        int n = 3;
        int count = 300_000; // ring path, many chunks
        try (LocalGroup g = new LocalGroup(n, (r, o) -> o.withTransport(transport).withChunkBytes(16 << 10))) {
            for (int iteration = 0; iteration < 10; iteration++) {
                List<Float> firsts = g.onAll(r -> {
                    ByteBuffer b = floats(count, r + 1);
                    g.comm(r).allReduce(b, DataType.FLOAT32, ReduceOp.SUM);
                    float[] copy = new float[count];
                    b.asFloatBuffer().get(copy);
                    for (int i = 0; i < count; i++) { // scribble over it at once: peers must not see this
                        b.putFloat(4 * i, Float.NaN);
                    }
                    for (float v : copy) {
                        assertEquals(6f, v);
                    }
                    return copy[0];
                });
                assertEquals(List.of(6f, 6f, 6f), firsts);
            }
        }
    }
}
