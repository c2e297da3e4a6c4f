package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.GrpcStore;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Somebody without the token floods a job while it starts (a slowloris): 100 connections to the
 * rendezvous store and 100 to each port every worker listens on (its TCP data port and its gRPC
 * service), each trickling one byte of HTTP/2's client preface every half second and reopened a
 * second after the job drops it, from another address (127.0.0.2, as another host would). The job
 * must start within 2 s of the same job undisturbed, measured side by side (both measured a second
 * time when the first pair misses, the best of each kept), and finish.
 *
 * <p>Found by this test and fixed: gRPC logged a 30-line stack trace per refused connection (a
 * junk-byte flood then delayed the start by 6.5 s; now one line a minute, {@code TransportFailureLog}),
 * the data listener's accept queue held 50 connections (a burst overflowed it and the kernel
 * dropped a real rank's SYN), and closing an evicted handshake on the accept thread waited for that
 * handshake's reader (a real rank's handshake took 1 s instead of 15 ms).
 */
class FloodedLaunchTest {
    private static final int CONNECTIONS_PER_PORT = 100;
    private static final long REOPEN_AFTER_MILLIS = 1000;
    private static final double MAX_DELAY_S = 2.0;
    /** What every connection trickles: HTTP/2's client preface, valid as far as it goes, so a gRPC server waits for more. */
    private static final byte[] TRICKLE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final String[] JOB = {"--nproc-per-node", "2", TrainingWorker.class.getName(), "--batch", "8", "--samples", "64",
            "--epochs", "1"};

    @TempDir
    Path tmp;

    @Test
    void aJobStartsAsFastWhileOneHundredConnectionsTrickleToTheStoreAndEveryWorkerPort() throws Exception {
        JobToken token = JobToken.generate();
        Path tokenFile = tmp.resolve("job.token");
        Files.writeString(tokenFile, token.value());
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-------"));
        double undisturbed = timeToFirstStep("undisturbed", freePort(), tokenFile, null);
        double flooded = floodedStart("flooded", tokenFile, token);
        if (flooded - undisturbed >= MAX_DELAY_S) {
            // one sample each on a shared 2-core machine: a start varies by seconds (3.9-7.2 s undisturbed here);
            // what the flood broke before (a log storm, dropped SYNs, a handshake's 1 s wait) delays every start
            System.out.printf("flooded start %.2f s against %.2f s undisturbed: measuring both once more%n", flooded, undisturbed);
            undisturbed = Math.min(undisturbed, timeToFirstStep("undisturbed-again", freePort(), tokenFile, null));
            flooded = Math.min(flooded, floodedStart("flooded-again", tokenFile, token));
        }
        assertTrue(flooded - undisturbed < MAX_DELAY_S, "flooded start " + flooded + " s against " + undisturbed + " s undisturbed");
    }

    private double floodedStart(String name, Path tokenFile, JobToken token) throws Exception {
        int storePort = freePort();
        try (Flood flood = new Flood(InetAddress.getByName("127.0.0.2"))) {
            flood.target(storePort);
            // the test holds the token only to learn where the workers listen (from the store, as their peers do);
            // the flood itself never uses it
            Thread discover = new Thread(() -> targetWorkerPorts(flood, storePort, token), "flood-discover");
            discover.setDaemon(true);
            discover.start();
            double flooded = timeToFirstStep(name, storePort, tokenFile, flood);
            System.out.printf("time to first step (%s): %.2f s with %d trickling connections on each of %d ports (%d opened in all)%n",
                    name, flooded, CONNECTIONS_PER_PORT, flood.ports(), flood.opened());
            assertEquals(5, flood.ports(), "the flood reached the store and both workers' two ports");
            return flooded;
        }
    }

    private double timeToFirstStep(String name, int storePort, Path tokenFile, Flood flood) throws Exception {
        List<String> args = new ArrayList<>(List.of("--master-port", Integer.toString(storePort), "--token-file", tokenFile.toString(),
                "--run-dir", tmp.resolve(name).toString()));
        args.addAll(List.of(JOB));
        try (LauncherProcess l = LauncherProcess.startQuiet(args)) {
            assertEquals(0, l.awaitExit(Duration.ofMinutes(3)), l.output());
        }
        JsonObject report = JsonParser.parseString(Files.readString(tmp.resolve(name).resolve("report.json"))).getAsJsonObject();
        return report.getAsJsonArray("time_to_first_step").get(0).getAsJsonObject().get("total_s").getAsDouble();
    }

    /** Each worker publishes its data port ({@code tcp/R}) and its gRPC endpoint ({@code endpoint/R}) for its peers. */
    private static void targetWorkerPorts(Flood flood, int storePort, JobToken token) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (GrpcStore store = new GrpcStore("127.0.0.1", storePort, token, Duration.ofSeconds(60))) {
            for (int rank = 0; rank < 2; rank++) {
                flood.target(Integer.parseInt(published(store, "gen/0/workers/tcp/" + rank, deadline)));
                String endpoint = published(store, "gen/0/workers/endpoint/" + rank, deadline);
                flood.target(Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1)));
            }
        } catch (RuntimeException e) {
            System.out.println("could not learn the workers' ports: " + e.getMessage()); // the port count assertion fails
        }
    }

    /** The key's value once the store is up and the key set (the launcher may not listen yet). */
    private static String published(GrpcStore store, String key, long deadline) {
        while (true) {
            try {
                return store.getString(key, Duration.ofSeconds(30));
            } catch (RuntimeException notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                sleep(50);
            }
        }
    }

    /** Keeps {@value #CONNECTIONS_PER_PORT} trickling connections open to every target port. */
    private static final class Flood implements AutoCloseable {
        private final InetAddress from;
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Set<Integer> ports = ConcurrentHashMap.newKeySet();
        private final AtomicInteger opened = new AtomicInteger();
        private final List<Thread> threads = new ArrayList<>();

        Flood(InetAddress from) {
            this.from = from;
        }

        int ports() {
            return ports.size();
        }

        int opened() {
            return opened.get();
        }

        synchronized void target(int port) {
            if (ports.add(port)) {
                Thread t = new Thread(() -> trickle(port), "flood-" + port);
                t.setDaemon(true);
                t.start();
                threads.add(t);
            }
        }

        private void trickle(int port) {
            Socket[] slots = new Socket[CONNECTIONS_PER_PORT];
            int[] sent = new int[CONNECTIONS_PER_PORT];
            long[] droppedAt = new long[CONNECTIONS_PER_PORT];
            while (!stop.get()) {
                for (int i = 0; i < CONNECTIONS_PER_PORT && !stop.get(); i++) {
                    if (slots[i] == null && System.currentTimeMillis() - droppedAt[i] > REOPEN_AFTER_MILLIS) {
                        slots[i] = open(port);
                        sent[i] = 0;
                        droppedAt[i] = System.currentTimeMillis();
                    } else if (slots[i] != null) {
                        try {
                            OutputStream out = slots[i].getOutputStream();
                            out.write(TRICKLE[sent[i]++ % TRICKLE.length]);
                            out.flush();
                        } catch (IOException dropped) {
                            closeQuietly(slots[i]);
                            slots[i] = null;
                            droppedAt[i] = System.currentTimeMillis();
                        }
                    }
                }
                sleep(500);
            }
            for (Socket s : slots) {
                closeQuietly(s);
            }
        }

        private Socket open(int port) {
            Socket s = new Socket();
            try {
                s.bind(new InetSocketAddress(from, 0));
                s.connect(new InetSocketAddress("127.0.0.1", port), 500);
                opened.incrementAndGet();
                return s;
            } catch (IOException refused) {
                closeQuietly(s); // not listening yet
                return null;
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : List.copyOf(threads)) {
                t.join(5000);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
