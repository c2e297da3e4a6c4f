package dev.trainyard.collectives.host.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.FingerprintMismatchException;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The point-to-point layer over in-memory links: checks on every frame, non-blocking sends under a window, timeouts that name the peer. */
class ExchangeTest {
    private static final int CHUNK = 4096;

    private static Fingerprint fp(long seq) {
        return new Fingerprint(seq, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 1024, -1);
    }

    private static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }

    private static long deadline(long millis) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void aFrameOfAnotherCollectiveIsAMismatchNamingBothRanksAndWhatEachIssued() {
        MemoryLinks net = new MemoryLinks(2, CHUNK, 4);
        net.runsOn(0, Thread.currentThread());
        net.runsOn(1, Thread.currentThread());
        net.exchanges[1].begin(fp(8), deadline(5000));
        net.exchanges[1].send(0, buffer(64), 0, 64, 0, 0);
        net.exchanges[0].begin(fp(7), deadline(5000));
        FingerprintMismatchException e = assertThrows(FingerprintMismatchException.class, () -> net.exchanges[0].receive(1, 0, 0, 64));
        assertTrue(e.getMessage().startsWith("collective mismatch: rank 0 issued " + fp(7) + " but rank 1 issued " + fp(8)), e.getMessage());
        assertEquals(List.of(0, 1), e.ranks());
    }

    @Test
    void aFrameAtTheWrongOffsetIsAProtocolErrorThatPointsAtTheOptions() {
        MemoryLinks net = new MemoryLinks(2, CHUNK, 4);
        net.runsOn(0, Thread.currentThread());
        net.exchanges[1].begin(fp(1), deadline(5000));
        net.exchanges[1].send(0, buffer(64), 0, 64, 0, 128);
        net.exchanges[0].begin(fp(1), deadline(5000));
        CollectiveException e = assertThrows(CollectiveException.class, () -> net.exchanges[0].receive(1, 0, 0, 64));
        assertTrue(e.getMessage().contains("expected step 0 offset 0 length 64 from rank 1 but got step 0 offset 128 length 64"
                + " (options such as chunk size must be equal on all ranks)"), e.getMessage());
    }

    @Test
    void aPeerThatSendsNothingIsNamedWhenTheDeadlinePasses() {
        MemoryLinks net = new MemoryLinks(3, CHUNK, 4);
        net.runsOn(0, Thread.currentThread());
        net.exchanges[0].begin(fp(1), deadline(200));
        long t0 = System.nanoTime();
        CollectiveException e = assertThrows(CollectiveException.class, () -> net.exchanges[0].receive(2, 0, 0, 64));
        assertEquals(List.of(2), e.ranks(), e.getMessage());
        assertTrue(e.getMessage().endsWith("waiting for rank 2"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "the wait ends at the deadline");
    }

    /**
     * The peer's last frame and its goodbye land between the receiver's poll and its look at the
     * link's state (its reader thread runs meanwhile): the frame is still the receiver's.
     */
    @Test
    void aFrameDeliveredJustBeforeAGracefulCloseIsStillReceived() {
        InboundFrame last = new InboundFrame();
        FrameHeader.encode(last.header, fp(3), 0, 0, 0);
        PeerLink racy = new MemoryLinks.QuietLink(1, MemoryLinks.QUIET, 4) {
            private boolean first = true;

            @Override
            public InboundFrame poll() {
                if (first) { // nothing yet; then, before the receiver looks again, the frame and the goodbye
                    first = false;
                    deliver(last);
                    inboundEnded("rank 1 closed its communicator", true);
                    return null;
                }
                return super.poll();
            }
        };
        Exchange ex = new Exchange(0, 2, CHUNK, new PeerLink[] {null, racy}, new FramePool(CHUNK, 4), new MemoryLinks.TimeoutNamesThePeer(0));
        ex.begin(fp(3), deadline(5000));
        assertSame(last, ex.receive(1, 0, 0, 0));
    }

    @Test
    void sendsNeverBlockAndTheWindowBoundsFramesInFlight() throws Exception {
        int window = 2;
        int frames = 10;
        MemoryLinks net = new MemoryLinks(2, CHUNK, window);
        ByteBuffer src = buffer(frames * 256);
        for (int i = 0; i < frames * 64; i++) {
            src.putFloat(i * 4, i);
        }
        net.runsOn(0, Thread.currentThread());
        Exchange sender = net.exchanges[0];
        sender.begin(fp(1), deadline(10_000));
        for (int i = 0; i < frames; i++) {
            sender.send(1, src, i * 256, 256, 0, i * 256); // returns at once although the receiver has not started
        }
        assertEquals(window, net.framesSent(0, 1), "only the window's worth left before the receiver released any");
        CompletableFuture<float[]> received = CompletableFuture.supplyAsync(() -> {
            net.runsOn(1, Thread.currentThread());
            Exchange receiver = net.exchanges[1];
            receiver.begin(fp(1), deadline(10_000));
            ByteBuffer dst = buffer(frames * 256);
            for (int i = 0; i < frames; i++) {
                InboundFrame f = receiver.receive(0, 0, i * 256, 256);
                assertTrue(net.framesSent(0, 1) <= i + window, "frames in flight beyond the window");
                f.copyTo(dst, i * 256);
                receiver.release(f);
            }
            float[] out = new float[frames * 64];
            dst.asFloatBuffer().get(out);
            return out;
        });
        sender.flush(); // returns once every frame has left
        float[] out = received.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < out.length; i++) {
            assertEquals(i, out[i], "element " + i);
        }
        assertEquals(frames, net.framesSent(0, 1));
    }
}
