package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.trainyard.collectives.nccl.NcclProbe;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every invalid {@code trainyard launch} input, through the real command line: exit code 2, one
 * line on stderr naming the problem (and, where there is one, the fix), and nothing started.
 */
class BadLaunchInputTest {
    @TempDir
    static Path tmp;
    private static String worldReadableToken;
    private static String shortToken;
    private static String weakToken;
    private static String jarWithoutMain;
    private static String notPem;
    private static String openKey;
    private static String earlierRun;

    @BeforeAll
    static void files() throws IOException {
        worldReadableToken = token("open.token", "0123456789abcdef0123456789abcdef", "rw-r--r--");
        shortToken = token("short.token", "abc", "rw-------");
        weakToken = token("weak.token", "0123456789abcdef0123456789abcdef", "rw-------");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        Path jar = tmp.resolve("lib.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out, m)) {
            j.flush();
        }
        jarWithoutMain = jar.toString();
        notPem = token("cert.pem", "not a certificate", "rw-------");
        openKey = token("open.key", "-----BEGIN PRIVATE KEY-----", "rw-r--r--");
        Path run = Files.createDirectory(tmp.resolve("earlier-run"));
        Files.writeString(run.resolve("rank-0.log"), "=== trainyard: rank 0, attempt 1 ===\n");
        earlierRun = run.toString();
    }

    private static String token(String name, String value, String perms) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, value);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f.toString();
    }

    static Stream<Arguments> badInputs() {
        String ex = "--example";
        String ar = "allreduce";
        return Stream.of(
                Arguments.of(new String[] {"--nproc-per-node", "0", ex, ar}, "--nproc-per-node must be at least 1, got 0"),
                Arguments.of(new String[] {"--nproc-per-node", "-3", ex, ar}, "--nproc-per-node must be at least 1, got -3"),
                Arguments.of(new String[] {"--nproc-per-node", "two", ex, ar}, "Invalid value for option '--nproc-per-node': 'two' is not an int"),
                Arguments.of(new String[] {"--nnodes", "0", ex, ar}, "--nnodes must be at least 1, got 0"),
                Arguments.of(new String[] {"--nnodes", "2", "--node-rank", "2", "--bind", "127.0.0.1", ex, ar}, "--node-rank 2 is not below --nnodes 2"),
                Arguments.of(new String[] {"--node-rank", "-1", ex, ar}, "--node-rank -1 is not below --nnodes 1"),
                Arguments.of(new String[] {"--master-port", "70000", ex, ar}, "--master-port 70000 is not a port"),
                Arguments.of(new String[] {"--master-port", "-1", ex, ar}, "--master-port -1 is not a port"),
                Arguments.of(new String[] {"--max-restarts", "-1", ex, ar}, "--max-restarts must be 0 or more, got -1"),
                Arguments.of(new String[] {"--timeout", "soon", ex, ar}, "--timeout: 'soon' is not a duration; write e.g. 500ms, 30s, 5m or 2h"),
                Arguments.of(new String[] {"--timeout", "0s", ex, ar}, "--timeout: duration '0s' must be positive"),
                Arguments.of(new String[] {"--timeout", "25h", ex, ar}, "--timeout: duration '25h' is longer than the 24h Trainyard accepts"),
                Arguments.of(new String[] {"--collective-timeout", "99999999999999999999h", ex, ar},
                        "--collective-timeout: '99999999999999999999h' is not a duration"),
                Arguments.of(new String[] {"--collective-timeout", "5 minutes", ex, ar}, "--collective-timeout: '5 minutes' is not a duration"),
                Arguments.of(new String[] {"--stall-timeout", "soon", ex, ar}, "--stall-timeout: 'soon' is not a duration"),
                Arguments.of(new String[] {"--grace-period", "-5s", ex, ar}, "--grace-period: '-5s' is not a duration"),
                Arguments.of(new String[] {"--backend", "mpi", ex, ar}, "--backend: unknown backend 'mpi'; choose auto, nccl or grpc"),
                Arguments.of(new String[] {"--transport", "pigeon", ex, ar}, "--transport: unknown transport 'pigeon'; use shared-memory, tcp or grpc-stream"),
                Arguments.of(new String[] {"--preflight", "sometimes", ex, ar}, "--preflight: unknown checks 'sometimes'; use quick, full or off"),
                Arguments.of(new String[] {"--cds", "maybe", ex, ar}, "--cds: unknown setting 'maybe'; use auto or off"),
                Arguments.of(new String[] {"--nproc-per-node", "2", "--all-reduce", "hierarchical", ex, ar},
                        "--all-reduce hierarchical needs several nodes with several workers each (this launch: 1 node(s) x 2 worker(s)); use --all-reduce auto or ring"),
                Arguments.of(new String[] {"--all-reduce", "tree", ex, ar}, "--all-reduce: unknown all-reduce algorithm 'tree'; use auto, ring or hierarchical"),
                Arguments.of(new String[] {"--bind", "0.0.0.0", ex, ar}, "--bind 0.0.0.0 would listen on every interface"),
                Arguments.of(new String[] {"--bind", "192.0.2.77", ex, ar}, "--bind 192.0.2.77 is not an address of this host"),
                Arguments.of(new String[] {"--bind", "no-such-host.invalid", ex, ar}, "--bind no-such-host.invalid does not resolve"),
                Arguments.of(new String[] {"--master-addr", "no-such-host.invalid", ex, ar}, "--master-addr no-such-host.invalid does not resolve"),
                Arguments.of(new String[] {"--nnodes", "2", ex, ar}, "--bind is required with --nnodes 2"),
                Arguments.of(new String[] {"--nnodes", "2", "--bind", "127.0.0.1", ex, ar}, "--token-file is required with several nodes"),
                Arguments.of(new String[] {"--nnodes", "2", "--node-rank", "1", "--bind", "127.0.0.1", ex, ar}, "--master-addr is required with --nnodes 2"),
                Arguments.of(new String[] {"--nnodes", "2", "--node-rank", "1", "--bind", "127.0.0.1", "--master-addr", "127.0.0.1", ex, ar},
                        "--master-port is required on node 1"),
                Arguments.of(new String[] {"--token-file", "/nonexistent/job.token", ex, ar}, "cannot be read (missing or no permission)"),
                Arguments.of(new String[] {"--token-file", worldReadableToken, ex, ar}, "is readable by other users; run: chmod 600"),
                Arguments.of(new String[] {"--token-file", shortToken, ex, ar}, "job token is too short"),
                Arguments.of(new String[] {"--token-file", weakToken, ex, ar}, "the job token's 32 characters carry at most 128 bits of randomness; need 256"),
                Arguments.of(new String[] {"--tls-cert", notPem, ex, ar}, "TLS needs all of --tls-cert, --tls-key and --tls-ca"),
                Arguments.of(new String[] {"--tls-cert", notPem, "--tls-key", notPem, "--tls-ca", notPem, ex, ar}, "cannot use the TLS files"),
                Arguments.of(new String[] {"--tls-cert", notPem, "--tls-key", openKey, "--tls-ca", notPem, ex, ar}, "--tls-key " + openKey + " is readable by other users"),
                Arguments.of(new String[] {"--tls-cert", "/nonexistent/c.pem", "--tls-key", notPem, "--tls-ca", notPem, ex, ar}, "TLS file /nonexistent/c.pem does not exist"),
                Arguments.of(new String[] {"com.example.Missing"}, "main class 'com.example.Missing' not found on the classpath"),
                Arguments.of(new String[] {"java.lang.String"}, "class 'java.lang.String' has no main(String[]) method"),
                Arguments.of(new String[] {ex, "mnist"}, "unknown example 'mnist'; available: allreduce, fashion-mnist"),
                Arguments.of(new String[] {}, "nothing to launch"),
                Arguments.of(new String[] {jarWithoutMain}, "names no Main-Class in its manifest"),
                Arguments.of(new String[] {"/nonexistent/app.jar"}, "does not exist or cannot be read"),
                Arguments.of(new String[] {"--no-such-flag", ex, ar}, "Unknown option: '--no-such-flag'"),
                Arguments.of(new String[] {"--trace", "sometimes", ex, ar}, "--trace: 'sometimes' is not a tracing mode; use off, full or every:K"),
                Arguments.of(new String[] {"--trace", "every:0", ex, ar}, "--trace: 'every:0' is not a tracing mode"),
                Arguments.of(new String[] {"--min-free-disk", "lots", ex, ar}, "--min-free-disk: 'lots' is not a byte size"),
                Arguments.of(new String[] {"--metrics-port", "70000", ex, ar}, "--metrics-port 70000 is not a port"),
                Arguments.of(new String[] {"--run-dir", earlierRun, ex, ar}, "--run-dir " + earlierRun
                        + " already holds an earlier run (rank-0.log); give --resume to continue it from its checkpoints, or choose a new --run-dir"),
                Arguments.of(new String[] {"--backend", "nccl", "--tls-cert", notPem, "--tls-key", notPem, "--tls-ca", notPem, ex, ar},
                        "--backend nccl cannot be combined with --tls-*: NCCL does not encrypt its traffic"));
    }

    static Stream<Arguments> badReportInputs() {
        return Stream.of(
                Arguments.of(new String[] {"/nonexistent/run"}, "cannot report on /nonexistent/run: /nonexistent/run is not a run directory"),
                Arguments.of(new String[] {tmp.toString(), "--target-accuracy", "1.5"}, "--target-accuracy must be in (0, 1], got 1.5"),
                Arguments.of(new String[] {tmp.toString(), "--baseline", "/nonexistent/base"}, "/nonexistent/base is not a run directory"),
                Arguments.of(new String[] {}, "Missing required parameter: 'RUN_DIR'"));
    }

    /** On a host without the NVIDIA driver the probe's reason comes out at once, before any worker starts. */
    @Test
    void forcedNcclWithoutAGpuFailsAtStartWithTheReason() {
        boolean driver = NcclProbe.driverPresent();
        if (driver) {
            System.out.println("SKIPPED: this host has an NVIDIA driver, so --backend nccl may well be usable here");
        }
        assumeFalse(driver);
        long start = System.nanoTime();
        assertOneLineRefusal("launch", new String[] {"--backend", "nccl", "--example", "allreduce"},
                "--backend nccl: NCCL cannot be used on this node: no NVIDIA driver on this host (none of /proc/driver/nvidia, ");
        assertTrue((System.nanoTime() - start) / 1e9 < 10, "refused at start");
    }

    @ParameterizedTest(name = "report: {1}")
    @MethodSource("badReportInputs")
    void badReportInputIsRefusedWithOneClearLine(String[] reportArgs, String expected) {
        assertOneLineRefusal("report", reportArgs, expected);
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badInputs")
    void isRefusedWithOneClearLine(String[] launchArgs, String expected) {
        assertOneLineRefusal("launch", launchArgs, expected);
    }

    private static void assertOneLineRefusal(String command, String[] args, String expected) {
        String[] argv = Stream.concat(Stream.of(command), Stream.of(args)).toArray(String[]::new);
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        int code;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            code = TrainyardCli.execute(argv);
        } finally {
            System.setErr(err);
        }
        String text = captured.toString(StandardCharsets.UTF_8).strip();
        assertEquals(2, code, text);
        assertEquals(1, text.lines().count(), "one line, got:\n" + text);
        assertTrue(text.startsWith("trainyard " + command + ": ") && text.contains(expected), text);
    }
}
