package dev.trainyard.collectives.host.transport.shm;

import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.SharedMemoryFiles;
import dev.trainyard.collectives.host.transport.HostIdentity;
import dev.trainyard.collectives.host.transport.PeerLink;
import dev.trainyard.collectives.host.transport.tcp.TcpPeerLink;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreAllGather;
import dev.trainyard.collectives.store.StoreTimeoutException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves the frames of every peer that shares this host onto {@link SharedMemoryRing}s, after the
 * TCP links are up (they stay: their close is how a dead peer is noticed, and they carry the
 * goodbye). Which peers share a host is proved, not guessed: each rank creates one ring per peer
 * with a random name and nonce and publishes both through the authenticated store; the peer
 * tries to map it and publishes its verdict. A link uses shared memory only if both directions
 * mapped and both ranks are in the same network namespace: processes in different namespaces
 * are different hosts to the job (simulated clusters build hosts that way), even when they
 * could share a {@code /dev/shm}. Each rank unlinks the files it created as soon as the peer's verdict is in, so a job
 * leaves nothing in {@code /dev/shm}; files of a rank killed in between are removed by the
 * launcher ({@link SharedMemoryFiles#removeLeftovers}).
 */
public final class SharedMemoryLinks {
    private static final Logger LOG = LoggerFactory.getLogger(SharedMemoryLinks.class);
    private static final String OK = "ok";

    private SharedMemoryLinks() {
    }

    /** Returns how many peers now use shared memory. */
    public static int establish(Store store, int rank, int size, PeerLink[] links, JobToken token, int slots, int payloadBytes, Duration timeout) {
        Path dir = SharedMemoryFiles.DIRECTORY;
        SharedMemoryRing[] inbound = new SharedMemoryRing[size];
        SharedMemoryRing[] outbound = new SharedMemoryRing[size];
        Path[] created = new Path[size];
        SecureRandom random = new SecureRandom();
        HexFormat hex = HexFormat.of();
        int used = 0;
        String network = HostIdentity.networkNamespace();
        try {
            for (int p = 0; p < size; p++) {
                if (p == rank) {
                    continue;
                }
                String offer = "-";
                if (Files.isDirectory(dir) && Files.isWritable(dir)) {
                    byte[] nonce = new byte[MappedSegment.NONCE_BYTES];
                    random.nextBytes(nonce);
                    Path file = dir.resolve(SharedMemoryFiles.prefix(token) + rank + "-from-" + p + "-" + hex.formatHex(randomName(random)));
                    try {
                        inbound[p] = SharedMemoryRing.create(file, slots, payloadBytes, nonce);
                        created[p] = file;
                        offer = file + " " + hex.formatHex(nonce) + " " + network;
                    } catch (IOException | RuntimeException e) {
                        LOG.info("rank {}: no shared-memory ring for rank {}: {}", rank, p, e.toString());
                    }
                }
                store.setString(offerKey(rank, p), offer);
            }
            for (int p = 0; p < size; p++) {
                if (p == rank) {
                    continue;
                }
                String offer = awaitKey(store, offerKey(p, rank), rank, p, timeout);
                String verdict = "the peer offered no ring";
                String[] parts = offer.split(" ");
                if (parts.length == 3 && !parts[2].equals(network)) {
                    verdict = "another network namespace (" + parts[2] + "): another host";
                } else if (parts.length == 3 && !isJobSegment(Path.of(parts[0]), dir, token)) {
                    verdict = "the offered path " + parts[0] + " is not one of this job's segments in " + dir;
                } else if (parts.length == 3 && inbound[p] != null) {
                    try {
                        outbound[p] = SharedMemoryRing.open(Path.of(parts[0]), slots, payloadBytes, hex.parseHex(parts[1]));
                        verdict = OK;
                    } catch (IOException | RuntimeException e) {
                        verdict = e.toString(); // another host, another mount namespace, or a different layout
                    }
                }
                store.setString(verdictKey(rank, p), verdict);
            }
            for (int p = 0; p < size; p++) {
                if (p == rank) {
                    continue;
                }
                String theirs = awaitKey(store, verdictKey(p, rank), rank, p, timeout);
                deleteQuietly(created[p]);
                created[p] = null;
                if (theirs.equals(OK) && outbound[p] != null) {
                    ((TcpPeerLink) links[p]).useSharedMemory(inbound[p], outbound[p]);
                    used++;
                }
            }
            return used;
        } finally {
            for (Path f : created) {
                deleteQuietly(f);
            }
        }
    }

    /**
     * Maps one {@link HostSegment} for the whole group when every rank shares this host (and
     * votes for it): rank 0 creates it and publishes its name and nonce through the store, every
     * other rank maps it and publishes its verdict, and all ranks read all verdicts, so either every
     * rank uses the segment or none does. Rank 0 unlinks the file once all verdicts are in.
     * Returns null when the group does not use one.
     */
    public static HostSegment hostSegment(Store store, int rank, int size, JobToken token, boolean wanted, int capacity, Duration timeout) {
        Path dir = SharedMemoryFiles.DIRECTORY;
        HexFormat hex = HexFormat.of();
        HostSegment segment = null;
        Path created = null;
        String verdict = wanted ? "the group's segment could not be mapped" : "not wanted (some peer is on another host, or turned off)";
        try {
            if (rank == 0) {
                String offer = "-";
                if (wanted) {
                    SecureRandom random = new SecureRandom();
                    byte[] nonce = new byte[MappedSegment.NONCE_BYTES];
                    random.nextBytes(nonce);
                    Path file = dir.resolve(SharedMemoryFiles.prefix(token) + "host-" + hex.formatHex(randomName(random)));
                    try {
                        segment = HostSegment.create(file, size, capacity, nonce);
                        created = file;
                        offer = file + " " + hex.formatHex(nonce);
                        verdict = OK;
                    } catch (IOException | RuntimeException e) {
                        verdict = e.toString();
                    }
                }
                store.setString(HOST_OFFER, offer);
            } else {
                String[] offer = awaitKey(store, HOST_OFFER, rank, 0, timeout).split(" ");
                if (wanted && offer.length == 2 && isJobSegment(Path.of(offer[0]), dir, token)) {
                    try {
                        segment = HostSegment.open(Path.of(offer[0]), size, capacity, hex.parseHex(offer[1]));
                        verdict = OK;
                    } catch (IOException | RuntimeException e) {
                        verdict = e.toString();
                    }
                } else if (wanted) {
                    verdict = "rank 0 offered no segment";
                }
            }
            List<String> verdicts;
            try {
                verdicts = StoreAllGather.allGather(store, HOST_VERDICTS, rank, size, verdict, timeout);
            } catch (StoreAllGather.MissingRanksException e) {
                throw new PeerFailureException("rank " + rank + ": ranks " + e.missingRanks() + " did not finish setting up shared"
                        + " memory within " + timeout.toSeconds() + " s (crashed or frozen)", e.missingRanks(), e);
            }
            boolean everyone = true;
            for (int p = 0; p < size; p++) {
                String theirs = verdicts.get(p);
                if (!theirs.equals(OK)) {
                    everyone = false;
                    LOG.info("rank {}: no host-wide segment, rank {} says: {}", rank, p, theirs);
                }
            }
            return everyone ? segment : null;
        } finally {
            deleteQuietly(created);
        }
    }

    private static final String HOST_OFFER = "shm/host/offer";

    private static final String HOST_VERDICTS = "shm/host/verdict/";

    /** Never map a file a peer names outside the job's segments (the token is the trust boundary, not a licence to write anywhere). */
    private static boolean isJobSegment(Path offered, Path dir, JobToken token) {
        Path normal = offered.normalize();
        return dir.equals(normal.getParent()) && normal.getFileName().toString().startsWith(SharedMemoryFiles.prefix(token));
    }

    /** The file name's random part; unrelated to the nonce, which only travels through the store. */
    private static byte[] randomName(SecureRandom random) {
        byte[] b = new byte[8];
        random.nextBytes(b);
        return b;
    }

    private static String awaitKey(Store store, String key, int rank, int peer, Duration timeout) {
        try {
            return store.getString(key, timeout);
        } catch (StoreTimeoutException e) {
            throw new PeerFailureException("rank " + rank + ": rank " + peer + " did not finish setting up shared memory within "
                    + timeout.toSeconds() + " s (crashed or frozen)", List.of(peer), e);
        }
    }

    private static String offerKey(int from, int to) {
        return "shm/offer/" + from + "/" + to;
    }

    private static String verdictKey(int from, int to) {
        return "shm/verdict/" + from + "/" + to;
    }

    private static void deleteQuietly(Path f) {
        if (f != null) {
            try {
                Files.deleteIfExists(f);
            } catch (IOException ignored) {
                // the launcher removes leftovers at the end of the attempt
            }
        }
    }
}
