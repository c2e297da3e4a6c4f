package dev.trainyard.collectives.host.transport.tcp;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TokenProof;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;

/**
 * Authenticates a raw TCP data-plane connection before any frame flows, by challenge and response
 * so that the job token never crosses the wire:
 * <ol>
 *   <li>the connecting rank sends magic, world size, its rank, the rank it means to reach and a
 *       fresh nonce;</li>
 *   <li>the listener checks the group, answers {@code OK}, a nonce of its own and its proof
 *       (HMAC with the token over both nonces and the group), so the connecting rank knows it
 *       reached a member of the job, not an impostor listening on the port;</li>
 *   <li>the connecting rank answers its proof (another label, the same values); the listener
 *       answers one status byte.</li>
 * </ol>
 * A recorded handshake replayed later fails: the listener's nonce is new each time. A wrong proof,
 * world size or target closes the connection: like the gRPC services, the TCP listener never lets
 * an unauthenticated peer see or change job state. One deadline covers the whole handshake.
 */
public final class TcpHandshake {
    private static final int MAGIC = 0x54595432; // "TYT2"
    /** For the whole handshake, not per read: a client trickling one byte at a time gets no longer than this. */
    private static final int TIMEOUT_MILLIS = 10_000;
    static final int HELLO_BYTES = 16 + TokenProof.NONCE_BYTES;
    public static final byte OK = 0;
    public static final byte REFUSED = 1;
    private static final String LISTENER = "trainyard tcp listener v2";
    private static final String CONNECTOR = "trainyard tcp connector v2";

    private final JobToken token;
    private final int rank;
    private final int size;

    public TcpHandshake(JobToken token, int rank, int size) {
        this.token = token;
        this.rank = rank;
        this.size = size;
    }

    /** The first message of a connecting rank: group, ranks and its nonce. */
    public static byte[] hello(int size, int sender, int target, byte[] nonce) {
        return ByteBuffer.allocate(HELLO_BYTES).putInt(MAGIC).putInt(size).putInt(sender).putInt(target).put(nonce).array();
    }

    /** What a listener proves and a connector proves: the same values under different labels, so neither proof can stand for the other. */
    public static byte[] proof(JobToken token, boolean listener, int size, int sender, int target, byte[] connectorNonce, byte[] listenerNonce) {
        byte[] group = ByteBuffer.allocate(12).putInt(size).putInt(sender).putInt(target).array();
        return TokenProof.of(token, listener ? LISTENER : CONNECTOR, group, connectorNonce, listenerNonce);
    }

    /** Client side. Throws if the listener refuses, cannot prove it holds the token, or does not answer in time. */
    public void offer(SocketChannel ch, int target) throws IOException {
        byte[] ours = TokenProof.nonce();
        write(ch, hello(size, rank, target, ours));
        DataInputStream in = new DataInputStream(new DeadlineInput(ch, System.nanoTime() + TIMEOUT_MILLIS * 1_000_000L));
        try {
            int status = in.read();
            if (status != OK) {
                throw new IOException("rank " + target + " refused the data-plane connection from rank " + rank
                        + (status < 0 ? " (connection closed)" : "") + ": wrong world size or address");
            }
            byte[] theirs = exactly(in, TokenProof.NONCE_BYTES);
            byte[] theirProof = exactly(in, TokenProof.BYTES);
            if (!TokenProof.matches(proof(token, true, size, rank, target, ours, theirs), theirProof)) {
                throw new IOException("the listener at " + ch.getRemoteAddress() + " could not prove it holds the job token:"
                        + " not rank " + target + " of this job (wrong address published, or an impostor on the port)");
            }
            write(ch, proof(token, false, size, rank, target, ours, theirs));
            status = in.read();
            if (status != OK) {
                throw new IOException("rank " + target + " refused the data-plane connection from rank " + rank
                        + (status < 0 ? " (connection closed)" : "") + ": wrong job token, or rank " + rank + " is already connected");
            }
        } catch (SocketTimeoutException e) {
            throw new IOException("rank " + target + " did not complete the data-plane handshake within " + TIMEOUT_MILLIS + " ms", e);
        } finally {
            ch.socket().setSoTimeout(0);
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
                return refuse(ch, why, "not a Trainyard data-plane connection of this version");
            }
            int theirSize = in.readInt();
            int sender = in.readInt();
            int target = in.readInt();
            byte[] theirs = exactly(in, TokenProof.NONCE_BYTES);
            if (theirSize != size || target != rank || sender < 0 || sender >= size || sender == rank) {
                return refuse(ch, why, "group mismatch (world size " + theirSize + " vs " + size + ", target rank "
                        + target + " vs " + rank + ", sender " + sender + ")");
            }
            byte[] ours = TokenProof.nonce();
            write(ch, ByteBuffer.allocate(1 + TokenProof.NONCE_BYTES + TokenProof.BYTES).put(OK).put(ours)
                    .put(proof(token, true, size, sender, rank, theirs, ours)).array());
            byte[] presented = exactly(in, TokenProof.BYTES);
            if (!TokenProof.matches(proof(token, false, size, sender, rank, theirs, ours), presented)) {
                return refuse(ch, why, "wrong job token (its proof does not verify)");
            }
            if (!claim.getAsBoolean()) {
                return refuse(ch, why, "its handshake slot went to a newer connection (too many pending)");
            }
            write(ch, new byte[] {OK});
            ch.socket().setSoTimeout(0);
            return sender;
        } catch (SocketTimeoutException e) {
            return refuse(ch, why, "handshake not completed within " + TIMEOUT_MILLIS + " ms");
        }
    }

    /** {@code n} bytes, or EOFException: a short nonce or proof is a broken handshake, not a shorter one. */
    private static byte[] exactly(DataInputStream in, int n) throws IOException {
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }

    private static void write(SocketChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b);
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
