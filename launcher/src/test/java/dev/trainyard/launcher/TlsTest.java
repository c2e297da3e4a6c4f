package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.store.GrpcStore;
import dev.trainyard.collectives.store.StoreException;
import dev.trainyard.collectives.store.StoreServer;
import dev.trainyard.testbed.ThrowawayCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Mutual TLS with certificates made in the test: the store and a real 2-worker job over it; strangers refused. */
class TlsTest {
    private static final Duration RUN = Duration.ofSeconds(90);
    @TempDir
    static Path tmp;
    private static ThrowawayCertificates job;
    private static ThrowawayCertificates stranger;

    @BeforeAll
    static void certificates() throws Exception {
        job = ThrowawayCertificates.create(tmp, "job");
        stranger = ThrowawayCertificates.create(tmp, "stranger"); // its own CA: not one of the job's
    }

    private static TransportSecurity tls(ThrowawayCertificates c) {
        return TransportSecurity.mutualTls(c.cert(), c.key(), c.ca());
    }

    @Test
    void theStoreServesOnlyClientsWithACertificateFromTheJobsCa() {
        JobToken token = JobToken.generate();
        try (StoreServer server = StoreServer.start("127.0.0.1", 0, token, tls(job), Duration.ofSeconds(10));
             GrpcStore member = new GrpcStore("127.0.0.1", server.port(), token, tls(job), Duration.ofSeconds(10), Duration.ofSeconds(5));
             GrpcStore plain = new GrpcStore("127.0.0.1", server.port(), token, Duration.ofSeconds(10));
             GrpcStore foreign = new GrpcStore("127.0.0.1", server.port(), token, tls(stranger), Duration.ofSeconds(10), Duration.ofSeconds(5))) {
            member.setString("state", "running");
            assertEquals("running", member.getString("state", Duration.ofSeconds(1)));
            StoreException p = assertThrows(StoreException.class, () -> plain.setString("state", "hijacked"));
            assertTrue(p.getMessage().contains("UNAVAILABLE"), p.getMessage());
            StoreException f = assertThrows(StoreException.class, () -> foreign.setString("state", "hijacked"));
            assertTrue(f.getMessage().contains("UNAVAILABLE"), f.getMessage());
            assertEquals("running", member.getString("state", Duration.ofSeconds(1)));
        }
    }

    /**
     * A real 2-worker job over mutual TLS and the same job in clear, each with its loopback traffic
     * captured by tcpdump (root only; otherwise the jobs run uncaptured): the job token's bytes appear
     * in neither capture. The store's keys do appear in the plaintext one (so the capture did see the
     * job's traffic) and not in the TLS one (encrypted).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mutual TLS", "plaintext"})
    void aJobRunsAndItsTokenNeverCrossesTheWire(String mode) throws Exception {
        boolean tls = mode.equals("mutual TLS");
        String value = "5eed".repeat(16);
        Path tokenFile = tmp.resolve(tls ? "tls.token" : "plain.token");
        Files.writeString(tokenFile, value);
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-------"));
        Path run = tmp.resolve(tls ? "run-tls" : "run-plain");
        List<String> args = new ArrayList<>(List.of("--nproc-per-node", "2", "--run-dir", run.toString(), "--token-file", tokenFile.toString(),
                "--transport", "tcp"));
        if (tls) {
            args.addAll(job.launchOptions());
        }
        args.addAll(List.of("--example", "allreduce", "--", "--iterations", "3", "--elements", "70000"));
        String noCapture = LoopbackCapture.unavailableReason();
        if (noCapture != null) {
            System.out.println("not capturing the job's traffic: " + noCapture);
        }
        byte[] wire = null;
        try (LoopbackCapture capture = noCapture == null ? LoopbackCapture.start(tmp.resolve(mode.replace(' ', '-') + ".pcap")) : null;
             LauncherProcess l = LauncherProcess.start(args)) {
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            for (int r = 0; r < 2; r++) {
                assertTrue(out.contains("[rank " + r + "] rank " + r + ": all-reduce check passed (3 iterations x 70000 floats over 2 ranks"), out);
            }
            if (tls) {
                assertTrue(out.contains("backend auto, mutual TLS"), out);
                assertTrue(Files.readString(run.resolve("rank-0.log")).contains(
                        "trainyard: backend auto: gRPC, because the job uses mutual TLS and NCCL does not encrypt its traffic"));
            }
            if (capture != null) {
                wire = capture.stop();
            }
        }
        if (wire != null) {
            byte[] key = java.util.HexFormat.of().parseHex(value);
            assertFalse(LoopbackCapture.contains(wire, value.getBytes(StandardCharsets.US_ASCII)), "the token's text is on the wire");
            assertFalse(LoopbackCapture.contains(wire, key), "the token's bytes are on the wire");
            boolean storeKeysVisible = LoopbackCapture.contains(wire, "gen/0/workers/".getBytes(StandardCharsets.US_ASCII));
            assertEquals(!tls, storeKeysVisible, "store keys readable on the wire (" + wire.length + " bytes captured)");
            System.out.printf("%s job: %d bytes of loopback traffic captured, no token in them%n", mode, wire.length);
        }
    }
}
