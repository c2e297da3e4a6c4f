package dev.trainyard.collectives.grpc;

import dev.trainyard.collectives.security.JobToken;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * Authenticates a raw TCP data-plane connection before any frame flows: the connecting rank sends
 * magic, world size, its rank, the rank it means to reach and the job token; the listener answers
 * one status byte. A wrong token, world size or target closes the connection: like the gRPC
 * services, the TCP listener never lets an unauthenticated peer see or change job state.
 */
final class TcpHandshake {
    private static final int MAGIC = 0x54595431; // "TYT1"
    /** For the whole handshake, not per read: a client trickling one byte at a time gets no longer than this. */
    private static final int TIMEOUT_MILLIS = 10_000;
    static final byte OK = 0;
    static final byte REFUSED = 1;

    private final JobToken token;
    private final int rank;
    private final int size;

    TcpHandshake(JobToken token, int rank, int size) {
        this.token = token;
        this.rank = rank;
        this.size = size;
    }

    /** Client side. Throws if the listener refuses or does not answer in time. */
    void offer(SocketChannel ch, int target) throws IOException {
        byte[] t = token.value().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer hello = ByteBuffer.allocate(18 + t.length);
        hello.putInt(MAGIC).putInt(size).putInt(rank).putInt(target).putShort((short) t.length).put(t).flip();
        while (hello.hasRemaining()) {
            ch.write(hello);
        }
        ch.socket().setSoTimeout(TIMEOUT_MILLIS);
        int status = ch.socket().getInputStream().read();
        ch.socket().setSoTimeout(0);
        if (status != OK) {
            throw new IOException("rank " + target + " refused the data-plane connection from rank " + rank
                    + (status < 0 ? " (connection closed)" : "") + ": wrong job token, world size or address");
        }
    }

    /**
     * Listener side: returns the authenticated sender's rank, or -1 after refusing (and explaining why in
     * {@code why[0]}). {@code claim} is asked just before the connection is accepted; false (the
     * listener gave this handshake's slot to a newer connection) refuses it.
     */
    int accept(SocketChannel ch, String[] why, BooleanSupplier claim) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT_MILLIS * 1_000_000L;
        try {
            DataInputStream in = new DataInputStream(new DeadlineInput(ch, deadline)); // blocking channel: honours SO_TIMEOUT
            int magic = in.readInt();
            if (magic != MAGIC) {
                return refuse(ch, why, "not a Trainyard data-plane connection");
            }
            int theirSize = in.readInt();
            int sender = in.readInt();
            int target = in.readInt();
            int len = in.readUnsignedShort();
            byte[] presented = in.readNBytes(len);
            if (!token.matches(new String(presented, StandardCharsets.US_ASCII))) {
                return refuse(ch, why, "wrong job token");
            }
            if (theirSize != size || target != rank || sender < 0 || sender >= size || sender == rank) {
                return refuse(ch, why, "group mismatch (world size " + theirSize + " vs " + size + ", target rank "
                        + target + " vs " + rank + ", sender " + sender + ")");
            }
            if (!claim.getAsBoolean()) {
                return refuse(ch, why, "its handshake slot went to a newer connection (too many pending)");
            }
            ch.write(ByteBuffer.wrap(new byte[] {OK}));
            ch.socket().setSoTimeout(0);
            return sender;
        } catch (SocketTimeoutException e) {
            return refuse(ch, why, "handshake not completed within " + TIMEOUT_MILLIS + " ms");
        }
    }

    /** The socket's input with what is left of one deadline as the timeout of every read. */
    private static final class DeadlineInput extends InputStream {
        private final SocketChannel ch;
        private final InputStream in;
        private final long deadline;

        DeadlineInput(SocketChannel ch, long deadline) throws IOException {
            this.ch = ch;
            this.in = ch.socket().getInputStream();
            this.deadline = deadline;
        }

        private void arm() throws IOException {
            long left = (deadline - System.nanoTime()) / 1_000_000L;
            if (left <= 0) {
                throw new SocketTimeoutException("handshake deadline passed");
            }
            ch.socket().setSoTimeout((int) left);
        }

        @Override
        public int read() throws IOException {
            arm();
            return in.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            arm();
            return in.read(b, off, len);
        }
    }

    private static int refuse(SocketChannel ch, String[] why, String reason) throws IOException {
        why[0] = reason;
        try {
            ch.write(ByteBuffer.wrap(new byte[] {REFUSED}));
        } finally {
            ch.close();
        }
        return -1;
    }
}
