package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.host.transport.FrameHeader;
import dev.trainyard.collectives.host.transport.FramePool;
import dev.trainyard.collectives.host.transport.LinkEvents;
import dev.trainyard.collectives.host.transport.tcp.TcpHandshake;
import dev.trainyard.collectives.host.transport.tcp.TcpListener;
import dev.trainyard.collectives.host.transport.tcp.TcpPeerLink;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TokenProof;
import dev.trainyard.collectives.store.GrpcStore;
import dev.trainyard.collectives.store.StoreServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The raw TCP data plane against connections written to hurt it: a client that connects and stalls,
 * garbage, a wrong token, a wrong group, an impostor for a rank already connected, and (on an
 * authenticated link) frames whose header lies about their length. None crashes the process, none
 * delays the real peers, and the collective still gives the exact result.
 */
class HostileDataPlaneTest {
    @Test
    void strangersAreRefusedWithoutDelayingRealPeersAndTheResultIsExact() throws Exception {
        JobToken token = JobToken.generate();
        ExecutorService ranks = Executors.newFixedThreadPool(2);
        try (HalfGroup g = new HalfGroup(token, ranks)) {

            try (Socket stalled = new Socket("127.0.0.1", g.port)) { // connects, never says a word
                byte[] noise = new byte[4096];
                new SplittableRandom(3).nextBytes(noise);
                assertRefused(g.port, noise);
                assertWrongProofRefused(g.port, new byte[TokenProof.BYTES]);
                assertWrongProofRefused(g.port, TcpHandshake.proof(JobToken.generate(), false, 2, 1, 0, new byte[32], new byte[32]));
                assertRefused(g.port, hello(3, 1, 0)); // another world size
                assertRefused(g.port, hello(2, 0, 0)); // claims to be the listener itself
                assertRefused(g.port, hello(2, 7, 0)); // no such rank
                String control = g.store1.getString(HostCommunicator.endpointKey(0), Duration.ofSeconds(30));
                try (Socket s = new Socket("127.0.0.1", Integer.parseInt(control.substring(control.lastIndexOf(':') + 1)))) {
                    s.setSoTimeout(15_000);
                    s.getOutputStream().write(noise); // its gRPC port: netty answers GOAWAY and hangs up
                    drainUntilClosed(s.getInputStream());
                }

                long t0 = System.nanoTime();
                Future<HostCommunicator> rank1 = ranks.submit(() -> HostCommunicator.connect(g.store1, 1, 2, g.options));
                try (HostCommunicator c0 = LocalGroup.get(g.rank0); HostCommunicator c1 = LocalGroup.get(rank1)) {
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    // a listener stuck on the stalled client would hold rank 1 for the 10 s handshake timeout
                    assertTrue(seconds < 8, "rank 1 needed " + seconds + " s to join past a stalled connection");

                    // an impostor with the right token for a rank that is already connected
                    try (SocketChannel impostor = SocketChannel.open(new InetSocketAddress("127.0.0.1", g.port))) {
                        new TcpHandshake(token, 1, 2).offer(impostor, 0); // the token is right...
                        impostor.socket().setSoTimeout(10_000);
                        drainUntilClosed(impostor.socket().getInputStream()); // ...but rank 1 is taken: hung up
                    }

                    float[] a = {1, 2, 3, 4.5f};
                    float[] b = {10, 20, 30, 40};
                    Future<?> r0 = ranks.submit(() -> c0.allReduce(a, ReduceOp.SUM));
                    c1.allReduce(b, ReduceOp.SUM);
                    r0.get(30, TimeUnit.SECONDS);
                    assertArrayEquals(new float[] {11, 22, 33, 44.5f}, a);
                    assertArrayEquals(a, b);
                }
            }
        } finally {
            ranks.shutdownNow();
        }
    }

    /**
     * More tricklers than the listener has handshake slots, each sending one byte of a hello every
     * 200 ms (a per-read timeout would never fire): the real rank still joins at once, because every
     * new connection evicts the oldest pending one, and the collective is exact.
     */
    @Test
    void aFloodOfTricklingClientsCannotKeepARealRankOut() throws Exception {
        JobToken token = JobToken.generate();
        ExecutorService ranks = Executors.newFixedThreadPool(2);
        List<Socket> tricklers = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread trickle = new Thread(() -> {
            byte[] hello = hello(2, 1, 0); // it never gets to prove anything
            for (int i = 0; !stop.get() && i < hello.length; i++) {
                for (Socket s : tricklers) {
                    try {
                        s.getOutputStream().write(hello[i]);
                    } catch (IOException evicted) {
                        // closed by the listener: what should happen to the oldest
                    }
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "trickler");
        try (HalfGroup g = new HalfGroup(token, ranks)) {
            for (int i = 0; i < TcpListener.MAX_PENDING_HANDSHAKES + 8; i++) {
                tricklers.add(new Socket("127.0.0.1", g.port));
            }
            trickle.start();
            // rank 1 connects after every trickler: the listener accepts in connection order, so by the time
            // it reaches rank 1 the tricklers fill every handshake slot (and 8 more wait behind them)
            long t0 = System.nanoTime();
            Future<HostCommunicator> rank1 = ranks.submit(() -> HostCommunicator.connect(g.store1, 1, 2, g.options));
            try (HostCommunicator c0 = LocalGroup.get(g.rank0); HostCommunicator c1 = LocalGroup.get(rank1)) {
                double seconds = (System.nanoTime() - t0) / 1e9;
                assertTrue(seconds < 5, "rank 1 needed " + seconds + " s to join past " + tricklers.size() + " tricklers");
                float[] a = {1, 2};
                float[] b = {3, 4};
                Future<?> r0 = ranks.submit(() -> c0.allReduce(a, ReduceOp.SUM));
                c1.allReduce(b, ReduceOp.SUM);
                r0.get(30, TimeUnit.SECONDS);
                assertArrayEquals(new float[] {4, 6}, a);
            }
        } finally {
            stop.set(true);
            trickle.interrupt();
            for (Socket s : tricklers) {
                s.close();
            }
            ranks.shutdownNow();
        }
    }

    @Test
    void anAuthenticatedPeerLyingAboutFrameLengthsBreaksOnlyItsOwnLink() throws Exception {
        for (int lie : new int[] {1 << 30, -5, 70_000}) {
            ArrayBlockingQueue<String> broken = new ArrayBlockingQueue<>(4);
            LinkEvents events = new LinkEvents() {
                @Override
                public void wake() {
                }

                @Override
                public void linkBroken(int peer, String reason, Throwable cause) {
                    broken.add("rank " + peer + ": " + reason);
                }
            };
            TcpPeerLink link = new TcpPeerLink(1, events, new FramePool(64 << 10, 4), 4);
            try (ServerSocketChannel listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
                 SocketChannel peer = SocketChannel.open(listener.getLocalAddress())) {
                link.attachInbound(listener.accept(), 0);
                byte[] header = new byte[FrameHeader.BYTES];
                FrameHeader.encode(header, new Fingerprint(0, CollectiveOp.ALL_REDUCE, ReduceOp.SUM, DataType.FLOAT32, 16, 0), 0, 0, lie);
                peer.write(ByteBuffer.wrap(header));
                String reason = broken.poll(10, TimeUnit.SECONDS);
                assertEquals("rank 1: rank 1 sent a malformed frame (length " + lie
                        + "): incompatible Trainyard version or a larger chunk size", reason);
            } finally {
                link.closeNow();
            }
        }
    }

    /** Rank 0 of a group of 2 connecting (its data-plane listener up, on {@code port}), and what rank 1 needs to join. */
    private static final class HalfGroup implements AutoCloseable {
        final StoreServer server;
        final GrpcStore store0;
        final GrpcStore store1;
        final CommunicatorOptions options;
        final Future<HostCommunicator> rank0;
        final int port;

        HalfGroup(JobToken token, ExecutorService ranks) throws Exception {
            server = StoreServer.start("127.0.0.1", 0, token, Duration.ofSeconds(30));
            store0 = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(30));
            store1 = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(30));
            options = CommunicatorOptions.defaults(token).withConnectTimeout(Duration.ofSeconds(30));
            rank0 = ranks.submit(() -> HostCommunicator.connect(store0, 0, 2, options));
            port = Integer.parseInt(store1.getString(HostCommunicator.tcpKey(0), Duration.ofSeconds(30)));
        }

        @Override
        public void close() throws Exception {
            store1.close();
            store0.close();
            server.close();
        }
    }

    private static byte[] hello(int size, int sender, int target) {
        return TcpHandshake.hello(size, sender, target, new byte[TokenProof.NONCE_BYTES]);
    }

    /** A stranger passes the group check, gets the listener's challenge, answers {@code proof}: refused, hung up. */
    private static void assertWrongProofRefused(int port, byte[] proof) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write(hello(2, 1, 0));
            InputStream in = s.getInputStream();
            assertEquals(TcpHandshake.OK, in.read(), "the group is right");
            assertEquals(TokenProof.NONCE_BYTES + TokenProof.BYTES, in.readNBytes(TokenProof.NONCE_BYTES + TokenProof.BYTES).length);
            s.getOutputStream().write(proof);
            assertEquals(TcpHandshake.REFUSED, in.read());
            drainUntilClosed(in);
        }
    }

    /** The listener answers REFUSED and hangs up. */
    private static void assertRefused(int port, byte[] hello) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(15_000);
            s.getOutputStream().write(hello);
            InputStream in = s.getInputStream();
            assertEquals(TcpHandshake.REFUSED, in.read());
            drainUntilClosed(in);
        }
    }

    /** Returns once the other side hangs up (the socket timeout fails the test if it never does). */
    private static void drainUntilClosed(InputStream in) throws IOException {
        try {
            while (in.read() >= 0) {
                // whatever it answers before closing
            }
        } catch (java.net.SocketException reset) {
            // reset by the listener: closed too
        }
    }
}
