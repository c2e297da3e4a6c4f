package dev.trainyard.launcher.cli;

import dev.trainyard.launcher.ScriptedWorker;
import dev.trainyard.launcher.plan.LaunchPlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** What {@code trainyard launch} makes of good input, in-process; bad input is {@link BadLaunchInputTest}'s. */
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

    private Path tokenFile(String perms) throws Exception {
        Path f = tmp.resolve("job-" + perms + ".token");
        Files.writeString(f, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(perms));
        return f;
    }

    @Test
    void defaultsForOneNode() throws Exception {
        LaunchPlan p = plan("--nproc-per-node", "3", "--example", "allreduce", "--", "--iterations", "7");
        assertEquals(3, p.worldSize());
        assertEquals("127.0.0.1", p.bind());
        assertEquals("127.0.0.1", p.masterAddr());
        assertEquals("dev.trainyard.examples.AllReduceCheck", p.entry().mainClass());
        assertEquals(List.of("--iterations", "7"), p.workerArgs());
        assertTrue(p.runDir().startsWith("runs"), p.runDir().toString());
        assertTrue(Files.isDirectory(p.runDir()), "created by the plan, so no other launch can take it");
        Files.delete(p.runDir());
        assertEquals(0, p.masterPort());
    }

    @Test
    void launchesInTheSameMillisecondGetRunDirectoriesOfTheirOwn() throws Exception {
        java.util.Set<Path> dirs = new java.util.HashSet<>();
        for (int i = 0; i < 50; i++) {
            assertTrue(dirs.add(LaunchCommand.freshRunDir(tmp.resolve("runs"))), "run directory " + i + " is new");
        }
        assertEquals(50, Files.list(tmp.resolve("runs")).count());
    }

    @Test
    void mainClassArgumentsPassThroughUntouched() {
        LaunchPlan p = plan("--nproc-per-node", "2", ScriptedWorker.class.getName(), "--stay", "--nproc-per-node", "9");
        assertEquals(ScriptedWorker.class.getName(), p.entry().mainClass());
        assertEquals(List.of("--stay", "--nproc-per-node", "9"), p.workerArgs());
        assertEquals(2, p.nprocPerNode());
    }

    @Test
    void readsMainClassFromAJarManifest() throws Exception {
        Path withMain = jar("app.jar", ScriptedWorker.class.getName());
        LaunchPlan p = plan(withMain.toString(), "--x");
        assertEquals(ScriptedWorker.class.getName(), p.entry().mainClass());
        assertEquals(List.of(withMain.toString()), p.entry().classpath());
        assertEquals(List.of("--x"), p.workerArgs());
    }

    private Path jar(String name, String mainClass) throws Exception {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
        Path p = tmp.resolve(name);
        try (OutputStream out = Files.newOutputStream(p); JarOutputStream jar = new JarOutputStream(out, m)) {
            jar.flush();
        }
        return p;
    }

    @Test
    void multiNodePlanReadsTheTokenFile() throws Exception {
        LaunchPlan p = plan("--nnodes", "2", "--bind", "127.0.0.1", "--token-file", tokenFile("rw-------").toString(),
                "--example", "allreduce");
        assertEquals("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", p.token().value());
        assertEquals("127.0.0.1", p.masterAddr());
    }
}
