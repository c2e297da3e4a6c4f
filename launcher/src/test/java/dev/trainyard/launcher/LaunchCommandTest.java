package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Input checking of {@code trainyard launch}, in-process: each bad input gives its one clear message. */
class LaunchCommandTest {
    @TempDir
    Path tmp;

    private static LaunchPlan plan(String... args) {
        LaunchCommand cmd = new LaunchCommand();
        CommandLine cli = new CommandLine(cmd);
        cli.setStopAtPositional(true);
        cli.parseArgs(args);
        return cmd.plan();
    }

    private static String error(String... args) {
        return assertThrows(UsageException.class, () -> plan(args)).getMessage();
    }

    private Path tokenFile(String perms) throws Exception {
        Path f = tmp.resolve("job-" + perms + ".token");
        Files.writeString(f, "0123456789abcdef0123456789abcdef\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void defaultsForOneNode() {
        LaunchPlan p = plan("--nproc-per-node", "3", "--example", "allreduce", "--", "--iterations", "7");
        assertEquals(3, p.worldSize());
        assertEquals("127.0.0.1", p.bind());
        assertEquals("127.0.0.1", p.masterAddr());
        assertEquals("dev.trainyard.examples.AllReduceCheck", p.entry().mainClass());
        assertEquals(List.of("--iterations", "7"), p.workerArgs());
        assertTrue(p.runDir().startsWith("runs"), p.runDir().toString());
        assertEquals(0, p.masterPort());
    }

    @Test
    void mainClassArgumentsPassThroughUntouched() {
        LaunchPlan p = plan("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--stay", "--nproc-per-node", "9");
        assertEquals(ScriptedWorker.class.getName(), p.entry().mainClass());
        assertEquals(List.of("--stay", "--nproc-per-node", "9"), p.workerArgs());
        assertEquals(2, p.nprocPerNode());
    }

    @Test
    void rejectsZeroWorkers() {
        assertEquals("--nproc-per-node must be at least 1, got 0", error("--nproc-per-node", "0", "--example", "allreduce"));
    }

    @Test
    void rejectsNodeRankOutsideTheJob() {
        assertEquals("--node-rank 2 is not below --nnodes 2 (node ranks are 0..1)",
                error("--nnodes", "2", "--node-rank", "2", "--bind", "127.0.0.1", "--example", "allreduce"));
    }

    @Test
    void rejectsUnknownMainClassAndExample() {
        assertTrue(error("com.example.Missing").startsWith("main class 'com.example.Missing' not found on the classpath"));
        assertEquals("unknown example 'mnist'; available: allreduce, fashion-mnist", error("--example", "mnist"));
        assertTrue(error().startsWith("nothing to launch"));
        assertEquals("class 'java.lang.String' has no main(String[]) method", error("java.lang.String"));
    }

    @Test
    void readsMainClassFromAJarManifestOrSaysItIsMissing() throws Exception {
        Path withMain = jar("app.jar", ScriptedWorker.class.getName());
        LaunchPlan p = plan(withMain.toString(), "--x");
        assertEquals(ScriptedWorker.class.getName(), p.entry().mainClass());
        assertEquals(List.of(withMain.toString()), p.entry().classpath());
        assertEquals(List.of("--x"), p.workerArgs());
        Path noMain = jar("lib.jar", null);
        assertTrue(error(noMain.toString()).contains("names no Main-Class in its manifest"));
        assertTrue(error(tmp.resolve("absent.jar").toString()).contains("does not exist or cannot be read"));
    }

    private Path jar(String name, String mainClass) throws Exception {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (mainClass != null) {
            m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
        }
        Path p = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(p); JarOutputStream jar = new JarOutputStream(out, m)) {
            jar.flush();
        }
        return p;
    }

    @Test
    void multiNodeNeedsBindTokenFileAndMasterAddress() throws Exception {
        assertTrue(error("--nnodes", "2", "--example", "allreduce").startsWith("--bind is required with --nnodes 2"));
        assertTrue(error("--nnodes", "2", "--bind", "127.0.0.1", "--example", "allreduce").startsWith("--token-file is required"));
        assertTrue(error("--nnodes", "2", "--node-rank", "1", "--bind", "127.0.0.1", "--example", "allreduce")
                .startsWith("--master-addr is required with --nnodes 2"));
        assertTrue(error("--nnodes", "2", "--node-rank", "1", "--bind", "127.0.0.1", "--master-addr", "127.0.0.1",
                "--example", "allreduce").startsWith("--master-port is required on node 1"));
        assertTrue(error("--bind", "0.0.0.0", "--example", "allreduce").contains("would listen on every interface"));
        assertTrue(error("--bind", "192.0.2.77", "--example", "allreduce").contains("is not an address of this host"));
        assertTrue(error("--master-addr", "no-such-host.invalid", "--example", "allreduce").contains("does not resolve"));
        LaunchPlan p = plan("--nnodes", "2", "--bind", "127.0.0.1", "--token-file", tokenFile("rw-------").toString(),
                "--example", "allreduce");
        assertEquals("0123456789abcdef0123456789abcdef", p.token().value());
        assertEquals("127.0.0.1", p.masterAddr());
    }

    @Test
    void refusesUnreadableOrWorldReadableTokenFiles() throws Exception {
        assertTrue(error("--token-file", tmp.resolve("none").toString(), "--example", "allreduce")
                .contains("cannot be read (missing or no permission); create it with: head -c 32 /dev/urandom"));
        assertTrue(error("--token-file", tokenFile("rw-r--r--").toString(), "--example", "allreduce")
                .contains("is readable by other users; run: chmod 600"));
        Path shortToken = tmp.resolve("short.token");
        Files.writeString(shortToken, "abc");
        Files.setPosixFilePermissions(shortToken, PosixFilePermissions.fromString("rw-------"));
        assertTrue(error("--token-file", shortToken.toString(), "--example", "allreduce").contains("job token is too short"));
    }

    @Test
    void rejectsBadDurationsPortsAndBackends() {
        assertEquals("--timeout: 'soon' is not a duration; write e.g. 500ms, 30s, 5m or 2h", error("--timeout", "soon", "--example", "allreduce"));
        assertTrue(error("--master-port", "70000", "--example", "allreduce").startsWith("--master-port 70000 is not a port"));
        assertEquals("--backend: unknown backend 'mpi'; choose auto, nccl or grpc", error("--backend", "mpi", "--example", "allreduce"));
        assertTrue(error("--backend", "nccl", "--example", "allreduce").contains("the NCCL backend is not part of this build"));
    }
}
