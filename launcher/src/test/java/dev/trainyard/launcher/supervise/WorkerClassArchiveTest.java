package dev.trainyard.launcher.supervise;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.runtime.UserCache;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real JVMs: the first start writes the archive, the launcher keeps it, the next start maps it
 * ({@code -Xshare:on} makes the JVM refuse to start otherwise); a changed jar gets another archive.
 */
class WorkerClassArchiveTest {
    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @TempDir
    Path tmp;

    /** A jar holding one class whose main loads a few JDK classes. */
    private Path helloJar() throws IOException {
        Path src = Files.createDirectories(tmp.resolve("src")).resolve("Hello.java");
        Files.writeString(src, "public class Hello { public static void main(String[] a) {"
                + " System.out.println(new java.util.TreeMap<>(java.util.Map.of(\"k\", 1))); } }");
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), src.toString()));
        Path jar = tmp.resolve("hello.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("Hello.class"));
            out.write(Files.readAllBytes(classes.resolve("Hello.class")));
        }
        return jar;
    }

    private static int run(List<String> options, Path jar) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(JAVA));
        cmd.addAll(options);
        cmd.addAll(List.of("-cp", jar.toString(), "Hello"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        int code = p.waitFor();
        assertTrue(out.contains("{k=1}"), out);
        return code;
    }

    @Test
    void theFirstStartWritesTheArchiveAndTheNextMapsIt() throws Exception {
        Path jar = helloJar();
        Path cache = tmp.resolve("cache");
        WorkerClassArchive first = WorkerClassArchive.of(cache, JAVA, List.of("-Xss1m"), List.of(jar.toString())).orElseThrow();
        List<String> writer = first.jvmOptions(0);
        assertTrue(writer.size() == 2 && writer.get(0).startsWith("-XX:ArchiveClassesAtExit="), writer.toString());
        assertEquals("-Xlog:cds*=off", writer.get(1), "the dump's per-class warnings stay out of the worker's log");
        assertEquals(List.of(), first.jvmOptions(1), "one writer per node");
        assertEquals(0, run(List.of("-Xss1m", writer.get(0), writer.get(1)), jar));
        assertTrue(first.keepIfWritten(true));
        assertTrue(Files.size(first.archive()) > 0);
        try (var files = Files.list(first.archive().getParent())) {
            assertEquals(List.of(first.archive()), files.toList(), "no temp file left");
        }

        WorkerClassArchive next = WorkerClassArchive.of(cache, JAVA, List.of("-Xss1m"), List.of(jar.toString())).orElseThrow();
        assertEquals(first.archive(), next.archive());
        assertEquals(List.of("-XX:SharedArchiveFile=" + first.archive()), next.jvmOptions(0));
        List<String> mapped = new ArrayList<>(List.of("-Xss1m", "-Xshare:on"));
        mapped.addAll(next.jvmOptions(3));
        assertEquals(0, run(mapped, jar), "-Xshare:on: the JVM starts only if it maps the archive");

        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() - 60_000));
        WorkerClassArchive rebuilt = WorkerClassArchive.of(cache, JAVA, List.of("-Xss1m"), List.of(jar.toString())).orElseThrow();
        assertNotEquals(first.archive(), rebuilt.archive(), "the JVM would refuse the old archive for a changed jar");

        for (int old = 0; old < 5; old++) { // archives of earlier builds: the newest 4 stay
            Path stale = first.archive().resolveSibling("worker-old" + old + ".jsa");
            Files.writeString(stale, "old");
            Files.setLastModifiedTime(stale, FileTime.fromMillis(1_000_000L * (old + 1)));
        }
        Files.writeString(Path.of(rebuilt.jvmOptions(0).get(0).substring("-XX:ArchiveClassesAtExit=".length())), "written at exit");
        assertTrue(rebuilt.keepIfWritten(true));
        try (var files = Files.list(first.archive().getParent())) {
            assertEquals(List.of(first.archive().getFileName().toString(), rebuilt.archive().getFileName().toString(), "worker-old3.jsa",
                    "worker-old4.jsa").stream().sorted().toList(), files.map(f -> f.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aFailedWriterLeavesNothingAndTheUsersOwnChoiceWins() throws Exception {
        Path jar = helloJar();
        Path cache = tmp.resolve("cache");
        WorkerClassArchive a = WorkerClassArchive.of(cache, JAVA, List.of(), List.of(jar.toString())).orElseThrow();
        Files.writeString(Path.of(a.jvmOptions(0).get(0).substring("-XX:ArchiveClassesAtExit=".length())), "half an archive");
        assertTrue(!a.keepIfWritten(false));
        try (var files = Files.list(cache.resolve("cds"))) {
            assertEquals(0, files.count(), "the writer failed: its file goes");
        }
        assertEquals(Optional.empty(), WorkerClassArchive.of(cache, JAVA, List.of("-Xshare:off"), List.of(jar.toString())));
        Path classesDir = tmp.resolve("classes");
        assertEquals(Optional.empty(), WorkerClassArchive.of(cache, JAVA, List.of(), List.of(jar + java.io.File.pathSeparator + classesDir)),
                "classes in a directory cannot be archived");
        assertEquals(tmp.resolve("x").resolve("trainyard"), UserCache.dir(java.util.Map.of("XDG_CACHE_HOME", tmp.resolve("x").toString())));
        assertEquals(Path.of("/c"), UserCache.dir(java.util.Map.of("TRAINYARD_CACHE_DIR", "/c", "XDG_CACHE_HOME", "/x")));
    }
}
