package dev.trainyard.collectives.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveTimeoutException;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.store.InMemoryStore;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The NCCL communicator's own logic (unique id, ordering, staging, watchdog, abort) on the fake device layer. */
class NcclCommunicatorTest {
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final InMemoryStore store = new InMemoryStore(Duration.ofSeconds(30));

    @AfterEach
    void stop() {
        threads.shutdownNow();
    }

    private List<NcclCommunicator> group(FakeNcclWorld world, List<FakeGpu> gpus, int n, Duration timeout) throws Exception {
        List<Future<NcclCommunicator>> joining = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            FakeGpu gpu = new FakeGpu(world);
            gpus.add(gpu);
            int rank = r;
            joining.add(threads.submit(() -> NcclCommunicator.connect(store, rank, n, 0, timeout, timeout, gpu)));
        }
        List<NcclCommunicator> comms = new ArrayList<>();
        for (Future<NcclCommunicator> f : joining) {
            comms.add(f.get(30, TimeUnit.SECONDS));
        }
        return comms;
    }

    private <T> List<T> onAll(int n, IntFunction<T> body) throws Exception {
        List<Future<T>> fs = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            fs.add(threads.submit(() -> body.apply(rank)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            out.add(f.get(30, TimeUnit.SECONDS));
        }
        return out;
    }

    private static float[] values(int rank, int count) {
        float[] v = new float[count];
        for (int j = 0; j < count; j++) {
            v[j] = (rank + 1) * 1000 + j * 0.5f;
        }
        return v;
    }

    @Test
    void everyCollectiveMatchesTheCpuResult() throws Exception {
        int n = 3;
        int count = 1000;
        List<FakeGpu> gpus = new ArrayList<>();
        List<NcclCommunicator> comms = group(new FakeNcclWorld(n), gpus, n, Duration.ofSeconds(30));
        List<float[][]> results = onAll(n, r -> {
            NcclCommunicator c = comms.get(r);
            float[] sum = values(r, count);
            c.allReduce(sum, ReduceOp.SUM);
            float[] max = values(r, count);
            c.allReduce(max, ReduceOp.MAX);
            float[] bcast = values(r, count);
            c.broadcast(bcast, 2);
            float[] gathered = c.allGather(values(r, count));
            float[] scattered = c.reduceScatter(values(r, count * n), ReduceOp.SUM);
            c.barrier();
            return new float[][] {sum, max, bcast, gathered, scattered};
        });
        for (int r = 0; r < n; r++) {
            float[][] got = results.get(r);
            for (int j = 0; j < count; j++) {
                assertEquals(1000 + 2000 + 3000 + 3 * j * 0.5f, got[0][j], 1e-3, "sum element " + j);
                assertEquals(3000 + j * 0.5f, got[1][j], 0, "max element " + j);
                assertEquals(3000 + j * 0.5f, got[2][j], 0, "broadcast from rank 2, element " + j);
            }
            for (int p = 0; p < n; p++) {
                for (int j = 0; j < count; j++) {
                    assertEquals(values(p, count)[j], got[3][p * count + j], 0, "all-gather block " + p);
                }
            }
            for (int j = 0; j < count; j++) {
                int k = r * count + j; // rank r's block of the reduction
                assertEquals(6000 + 3 * k * 0.5f, got[4][j], 1e-2, "reduce-scatter element " + k);
            }
        }
        for (NcclCommunicator c : comms) {
            c.close();
        }
        gpus.forEach(g -> assertEquals(1, g.destroys.get(), "communicator destroyed on close"));
    }

    @Test
    void deviceCollectiveWaitsForWorkQueuedOnTheComputeStream() throws Exception {
        int n = 2;
        int count = 256;
        FakeNcclWorld world = new FakeNcclWorld(n);
        List<FakeGpu> gpus = new ArrayList<>();
        List<NcclCommunicator> comms = group(world, gpus, n, Duration.ofSeconds(30));
        long[] gradients = {world.malloc(count * 4L), world.malloc(count * 4L)};
        onAll(n, r -> {
            FakeGpu gpu = gpus.get(r);
            // a slow "backward" kernel that writes the gradients; the all-reduce is issued right after it is queued
            gpu.onComputeStream(() -> {
                sleep(300);
                ByteBuffer g = gpu.memory(gradients[r], count * 4L);
                for (int j = 0; j < count; j++) {
                    g.putFloat(j * 4, r + 1 + j);
                }
            });
            Work w = comms.get(r).allReduceAsync(gradients[r], count, DataType.FLOAT32, ReduceOp.AVG);
            w.await();
            return null;
        });
        for (int r = 0; r < n; r++) {
            ByteBuffer g = world.at(gradients[r], count * 4L);
            for (int j = 0; j < count; j++) {
                assertEquals((1 + j + 2 + j) / 2f, g.getFloat(j * 4), 0, "rank " + r + " element " + j
                        + ": the all-reduce must see what the compute stream wrote before it");
            }
        }
        comms.forEach(NcclCommunicator::close);
    }

    @Test
    void aPeerThatNeverIssuesTimesOutAbortsAndNamesTheCollective() throws Exception {
        List<FakeGpu> gpus = new ArrayList<>();
        List<NcclCommunicator> comms = group(new FakeNcclWorld(2), gpus, 2, Duration.ofSeconds(1));
        // rank 1 never issues the all-reduce, so rank 0's (fake) kernel waits for it forever, as NCCL's would
        long start = System.nanoTime();
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> comms.get(0).allReduce(new float[] {1, 2, 3, 4}, ReduceOp.SUM));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertInstanceOf(CollectiveTimeoutException.class, e);
        System.out.println("NCCL timeout detected after " + String.format("%.2f", seconds) + " s: " + e.getMessage());
        assertTrue(e.getMessage().contains("rank 0 (GPU 0): NCCL ALL_REDUCE #0 (SUM, FLOAT32, 4 elements) did not complete within 1 s"),
                e.getMessage());
        assertTrue(seconds < 10, "timed out after " + seconds + " s");
        assertEquals(1, gpus.get(0).aborts.get(), "ncclCommAbort called once");
        Work later = comms.get(0).barrierAsync();
        assertTrue(later.isDone(), "work after the failure fails at once");
        assertTrue(later.exception().getMessage().contains("did not complete within 1 s"), later.exception().getMessage());
        comms.get(0).close();
        assertEquals(0, gpus.get(0).destroys.get(), "an aborted communicator is not destroyed again");
    }

    @Test
    void anAsynchronousNcclErrorAbortsPendingWorkBeforeTheTimeout() throws Exception {
        List<FakeGpu> gpus = new ArrayList<>();
        List<NcclCommunicator> comms = group(new FakeNcclWorld(2), gpus, 2, Duration.ofSeconds(60));
        ByteBuffer buf = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        Work w = comms.get(0).allReduceAsync(buf, DataType.FLOAT32, ReduceOp.AVG);
        assertTrue(!w.isDone(), "rank 1 never issues its part, so only the error can end this work");
        gpus.get(0).asyncError = 6; // ncclRemoteError
        long start = System.nanoTime();
        CollectiveException e = assertThrows(CollectiveException.class, w::await);
        assertTrue((System.nanoTime() - start) / 1e9 < 5, "the watchdog polls the error every 100 ms");
        assertEquals("rank 0 (GPU 0): NCCL reported remote process exited or there was a network error (code 6) while"
                + " ALL_REDUCE #0 (AVG, FLOAT32, 16 elements) was in flight; the NCCL communicator was aborted", e.getMessage());
        assertEquals(1, gpus.get(0).aborts.get());
        comms.get(0).close();
    }

    @Test
    void abortFailsPendingWork() throws Exception {
        List<FakeGpu> gpus = new ArrayList<>();
        List<NcclCommunicator> comms = group(new FakeNcclWorld(2), gpus, 2, Duration.ofSeconds(60));
        Work w = comms.get(1).barrierAsync();
        comms.get(1).abort("the launcher is stopping the job");
        CollectiveException e = assertThrows(CollectiveException.class, w::await);
        assertInstanceOf(CommunicatorAbortedException.class, e);
        assertTrue(e.getMessage().contains("rank 1 (GPU 0): communicator aborted: the launcher is stopping the job"), e.getMessage());
        assertEquals(1, gpus.get(1).aborts.get());
    }

    /**
     * Work issued while another thread aborts must still end: an issue that checked for a failure just
     * before the abort, and queued its work just after the abort drained the queue, used to wait forever
     * (the watchdog had stopped). Hundreds of tries, each racing three issues against one abort; the first
     * work that does not end within a second fails the test (every end here is immediate).
     */
    @Test
    void workIssuedDuringAnAbortAlwaysEnds() throws Exception {
        int tries = 500;
        for (int t = 0; t < tries; t++) {
            FakeGpu gpu = new FakeGpu(new FakeNcclWorld(1));
            NcclCommunicator comm = NcclCommunicator.connect(new InMemoryStore(Duration.ofSeconds(5)), 0, 1, 0,
                    Duration.ofSeconds(5), Duration.ofSeconds(60), gpu);
            CyclicBarrier start = new CyclicBarrier(2);
            Future<List<Work>> issuing = threads.submit(() -> {
                start.await();
                List<Work> issued = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    issued.add(comm.allReduceAsync(gpu.malloc(16), 4, DataType.FLOAT32, ReduceOp.SUM));
                }
                return issued;
            });
            start.await();
            comm.abort("the launcher is stopping the job");
            for (Work w : issuing.get(30, TimeUnit.SECONDS)) {
                try {
                    assertTrue(w.await(Duration.ofSeconds(1)), "try " + t + ": " + w.fingerprint() + " never ended");
                } catch (CommunicatorAbortedException expected) {
                    // completed or aborted: the two outcomes every issue must reach
                }
            }
            comm.close();
            gpu.release();
        }
    }

    @Test
    void initialisationNamesTheRanksThatNeverStartedIt() throws Exception {
        FakeNcclWorld world = new FakeNcclWorld(3);
        List<Future<Object>> joining = new ArrayList<>();
        for (int r = 0; r < 2; r++) { // rank 2 never comes
            int rank = r;
            joining.add(threads.submit(() -> {
                try {
                    return NcclCommunicator.connect(store, rank, 3, 0, Duration.ofSeconds(1), Duration.ofSeconds(60), new FakeGpu(world));
                } catch (PeerFailureException e) {
                    return e;
                }
            }));
        }
        for (Future<Object> f : joining) {
            PeerFailureException e = assertInstanceOf(PeerFailureException.class, f.get(30, TimeUnit.SECONDS));
            assertEquals(List.of(2), e.ranks());
            assertTrue(e.getMessage().contains("NCCL initialisation did not complete within 1 s; ranks [2] never started it"),
                    e.getMessage());
        }
    }

    @Test
    void aRankWithoutRankZeroSaysWhoseUniqueIdIsMissing() {
        PeerFailureException e = assertThrows(PeerFailureException.class,
                () -> NcclCommunicator.connect(store, 1, 2, 0, Duration.ofMillis(300), Duration.ofSeconds(60),
                        new FakeGpu(new FakeNcclWorld(2))));
        assertEquals(List.of(0), e.ranks());
        assertTrue(e.getMessage().startsWith("rank 1: rank 0 did not publish the NCCL unique id"), e.getMessage());
    }

    @Test
    void hostBuffersAreCheckedLikeEveryBackend() throws Exception {
        List<NcclCommunicator> comms = group(new FakeNcclWorld(1), new ArrayList<>(), 1, Duration.ofSeconds(5));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> comms.get(0).allReduceAsync(ByteBuffer.allocate(8), DataType.FLOAT32, ReduceOp.SUM));
        assertTrue(e.getMessage().contains("direct ByteBuffer"), e.getMessage());
        float[] one = {4, 5};
        comms.get(0).allReduce(one, ReduceOp.AVG);
        assertArrayEquals(new float[] {4, 5}, one, "a group of one keeps its values");
        comms.get(0).close();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
