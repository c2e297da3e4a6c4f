package dev.trainyard.collectives.host.transport.tcp;

import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.HostPort;
import dev.trainyard.collectives.Keepalive;
import dev.trainyard.collectives.host.transport.FrameHeader;
import dev.trainyard.collectives.host.transport.FramePool;
import dev.trainyard.collectives.host.transport.InboundFrame;
import dev.trainyard.collectives.host.transport.LinkEvents;
import dev.trainyard.collectives.host.transport.PeerLink;
import dev.trainyard.collectives.host.transport.SendItem;
import dev.trainyard.collectives.host.transport.shm.SharedMemoryRing;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A peer link on raw TCP: the same frames as the gRPC stream (40-byte header + payload) without
 * HTTP/2 framing, which on small machines costs several times the CPU of the bytes themselves.
 * Outbound: a writer thread does gathering writes straight from the caller's buffer (the kernel's
 * copy is the only one). Inbound: a reader thread reads each payload straight into a pooled frame,
 * at most {@code window} frames ahead of the consumer (TCP's own flow control does the rest).
 * Connections are authenticated with the job token by {@link TcpHandshake}.
 */
public final class TcpPeerLink extends PeerLink {
    private static final int SLOTS = 4;

    private final FramePool pool;
    private final Semaphore credits;
    private final WriteSlot[] slots = new WriteSlot[SLOTS];
    private final ArrayBlockingQueue<WriteSlot> writeQueue = new ArrayBlockingQueue<>(SLOTS + 1);
    private final AtomicInteger inFlight = new AtomicInteger();
    private int nextSlot;
    private String address;
    private volatile SocketChannel out;
    private volatile SocketChannel in;
    private Thread writer;
    private Thread reader;
    /** Set once, before the first collective, when the peer shares this host: frames then bypass the socket. */
    private SharedMemoryRing shmIn;
    private SharedMemoryRing shmOut;
    private final byte[] shmHeader = new byte[FrameHeader.BYTES];
    private final ByteBuffer doorbell = ByteBuffer.allocateDirect(FrameHeader.BYTES);
    /** The writer thread and the collective thread's doorbells share the connection. */
    private final Object writeLock = new Object();

    /** A frame handed to the writer thread: its header and a view of the caller's buffer. */
    private static final class WriteSlot {
        final ByteBuffer header = ByteBuffer.allocateDirect(FrameHeader.BYTES);
        final byte[] headerBytes = new byte[FrameHeader.BYTES];
        final ByteBuffer[] gather = new ByteBuffer[2];
        ByteBuffer viewOf; // the buffer the cached view was made from; views are made once per buffer, not per frame
        ByteBuffer view;
        boolean bye;
    }

    public TcpPeerLink(int peer, LinkEvents events, FramePool pool, int window) {
        super(peer, events, window);
        this.pool = pool;
        this.credits = new Semaphore(window);
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = new WriteSlot();
        }
    }

    /** Connects to the peer's TCP listener, authenticates, and starts the writer thread. */
    public void connect(String host, int port, TcpHandshake handshake, int rank, long timeoutMillis) throws IOException {
        this.address = HostPort.format(host, port);
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().setTcpNoDelay(true);
            Keepalive.on(ch);
            ch.socket().connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            handshake.offer(ch, peer);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        out = ch;
        writer = new Thread(this::writeLoop, "trainyard-tcp-rank-" + rank + "-to-" + peer);
        writer.setDaemon(true);
        writer.start();
        events.wake();
    }

    /** The peer's authenticated connection to us; starts the reader thread. Returns false for a duplicate. */
    public synchronized boolean attachInbound(SocketChannel ch, int rank) {
        if (in != null) {
            return false;
        }
        in = ch;
        reader = new Thread(this::readLoop, "trainyard-tcp-rank-" + rank + "-from-" + peer);
        reader.setDaemon(true);
        reader.start();
        return true;
    }

    /** From now on frames travel through {@code in} and {@code out}; the connection stays for liveness and the goodbye. */
    public void useSharedMemory(SharedMemoryRing in, SharedMemoryRing out) {
        byte[] h = new byte[FrameHeader.BYTES];
        FrameHeader.encodeSignal(h, FrameHeader.DOORBELL_LENGTH);
        doorbell.put(h).flip();
        this.shmIn = in;
        this.shmOut = out;
    }

    @Override
    public boolean prepareToSleep() {
        boolean nothingToRead = shmIn.consumerSleeps();
        boolean nothingToSend = sendQueue.isEmpty() || shmOut.producerSleeps();
        return nothingToRead && nothingToSend;
    }

    @Override
    public void awake() {
        shmIn.consumerAwake();
        shmOut.producerAwake();
    }

    /** Wakes the peer's collective thread: a 40-byte signal its reader thread turns into an unpark. */
    public void ring() {
        try {
            synchronized (writeLock) {
                doorbell.clear();
                while (doorbell.hasRemaining()) {
                    out.write(doorbell);
                }
            }
        } catch (IOException e) {
            outboundEnded("the connection to rank " + peer + " at " + address + " failed: " + e.getMessage(), true, e);
        }
    }

    @Override
    public boolean polled() {
        return shmIn != null;
    }

    @Override
    public boolean ready() {
        if (shmOut != null) {
            return outboundClosed == null && shmOut.hasRoom();
        }
        return out != null && inFlight.get() < SLOTS;
    }

    @Override
    public void sendNow(Fingerprint fp, SendItem it) {
        if (shmOut != null) {
            FrameHeader.encode(shmHeader, fp, it.step, it.chunkOffset, it.length);
            if (shmOut.publish(shmHeader, it.src, it.offset, it.length)) {
                ring();
            }
            return;
        }
        WriteSlot s = slots[nextSlot];
        nextSlot = (nextSlot + 1) % SLOTS;
        FrameHeader.encode(s.headerBytes, fp, it.step, it.chunkOffset, it.length);
        if (it.length == 0) {
            s.gather[1] = null;
        } else {
            if (s.viewOf != it.src) {
                s.viewOf = it.src;
                s.view = it.src.duplicate();
            }
            s.view.limit(it.offset + it.length).position(it.offset);
            s.gather[1] = s.view;
        }
        submit(s, false);
    }

    /** Hands a filled slot (header bytes and payload view set) to the writer thread. */
    private void submit(WriteSlot s, boolean bye) {
        s.header.clear();
        s.header.put(s.headerBytes).flip();
        s.gather[0] = s.header;
        s.bye = bye;
        inFlight.incrementAndGet();
        writeQueue.add(s);
    }

    @Override
    public boolean drained() {
        return inFlight.get() == 0;
    }

    private void writeLoop() {
        try {
            while (true) {
                WriteSlot s = writeQueue.take();
                int parts = s.gather[1] == null ? 1 : 2;
                synchronized (writeLock) {
                    while (s.gather[0].hasRemaining() || (parts == 2 && s.gather[1].hasRemaining())) {
                        out.write(s.gather, 0, parts);
                    }
                }
                s.gather[1] = null; // the caller's buffer is free from here on
                inFlight.decrementAndGet();
                events.wake();
                if (s.bye) {
                    out.shutdownOutput();
                    outboundEnded("rank " + peer + " closed", false, null);
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            outboundEnded("the connection to rank " + peer + " at " + address + " failed: " + e.getMessage(), true, e);
        }
    }

    private void readLoop() {
        ByteBuffer header = ByteBuffer.allocateDirect(FrameHeader.BYTES);
        byte[] headerBytes = new byte[FrameHeader.BYTES];
        try {
            while (true) {
                credits.acquire();
                header.clear();
                if (!readFully(in, header)) {
                    inboundEnded("the connection from rank " + peer + " was lost (process died, was killed or the network failed)", false);
                    return;
                }
                header.flip().get(headerBytes);
                int len = FrameHeader.length(headerBytes);
                if (FrameHeader.validMagic(headerBytes) && len == FrameHeader.DOORBELL_LENGTH) {
                    credits.release(); // a signal takes no frame
                    events.wake();
                    continue;
                }
                if (FrameHeader.validMagic(headerBytes) && len == FrameHeader.BYE_LENGTH) {
                    inboundEnded("rank " + peer + " closed its communicator", true);
                    return;
                }
                if (!FrameHeader.validMagic(headerBytes) || len < 0 || len > pool.maxPayload()) {
                    inboundEnded("rank " + peer + " sent a malformed frame (length " + len
                            + "): incompatible Trainyard version or a larger chunk size", false);
                    return;
                }
                InboundFrame f = pool.take();
                System.arraycopy(headerBytes, 0, f.header, 0, FrameHeader.BYTES);
                ByteBuffer payload = f.copyBuffer(pool.maxPayload());
                payload.clear().limit(len);
                if (!readFully(in, payload)) {
                    pool.give(f);
                    inboundEnded("the connection from rank " + peer + " was lost mid-frame", false);
                    return;
                }
                deliver(f);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            if (!closing) {
                inboundEnded("the connection from rank " + peer + " was lost: " + e.getMessage(), false);
            }
        }
    }

    /** False on end of stream. */
    private static boolean readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                return false;
            }
        }
        return true;
    }

    /** Copies the header of the next frame in shared memory into {@code into} without taking the frame; false if none. */
    public boolean peek(byte[] into) {
        return shmIn != null && shmIn.peek(into);
    }

    @Override
    public InboundFrame poll() {
        if (shmIn == null) {
            return super.poll();
        }
        int base = shmIn.take();
        if (base < 0) {
            return null;
        }
        InboundFrame f = pool.take();
        shmIn.buffer().get(base, f.header);
        f.borrow(shmIn.buffer(), SharedMemoryRing.payloadOffset(base));
        f.origin = this;
        return f;
    }

    @Override
    public void grantOne() {
        if (shmIn != null) {
            if (shmIn.release()) {
                ring();
            }
        } else {
            credits.release();
        }
    }

    @Override
    public void halfClose() {
        closing = true;
        if (out == null || outboundClosed() != null) {
            return;
        }
        WriteSlot s = new WriteSlot();
        FrameHeader.encodeBye(s.headerBytes);
        submit(s, true);
    }

    @Override
    public void closeNow() {
        closing = true;
        for (SocketChannel ch : new SocketChannel[] {out, in}) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }
        for (Thread t : new Thread[] {writer, reader}) {
            if (t != null) {
                t.interrupt();
            }
        }
    }

    /**
     * Waits for the writer to finish the frames it holds (a peer that still reads takes them);
     * a peer that stopped reading leaves the writer blocked in a write from the caller's buffer, so
     * at the deadline the connection is closed (the communicator has failed: nothing more will be
     * sent on it) and the writer thread waited for, since it may be inside that write.
     */
    @Override
    public boolean letGoOfCallerBuffers(long deadlineNanos) {
        // abort interrupts the collective thread; this wait must happen all the same
        boolean interrupted = Thread.interrupted();
        try {
            while (inFlight.get() > 0 && writer != null && writer.isAlive() && System.nanoTime() < deadlineNanos) {
                LockSupport.parkNanos(this, 1_000_000L);
            }
            if (framesReadingCallerBuffers() == 0) {
                return false;
            }
            closeNow();
            long joinUntil = System.nanoTime() + 2_000_000_000L;
            while (writer.isAlive() && System.nanoTime() < joinUntil) {
                try {
                    writer.join(100);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            return true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public int framesReadingCallerBuffers() {
        return writer != null && writer.isAlive() ? inFlight.get() : 0;
    }

    @Override
    public String address() {
        return address;
    }
}
