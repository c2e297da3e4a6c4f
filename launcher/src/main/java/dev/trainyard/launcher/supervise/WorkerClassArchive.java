package dev.trainyard.launcher.supervise;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * An application class-data archive (AppCDS) for the worker JVMs: the classes a worker loaded,
 * already parsed and verified, mapped at the next start instead of read from the jars again. A
 * worker spends most of its start-up loading gRPC, Netty, DJL and Trainyard classes on a core the
 * other workers' start-ups also need. The first launch of a classpath has local rank 0 write the
 * archive when it exits ({@code -XX:ArchiveClassesAtExit}, to a temp file the launcher keeps only
 * if that worker succeeded); later launches map it ({@code -XX:SharedArchiveFile}). The archive's
 * name is a digest of the java binary, its version, the JVM options and every classpath entry with
 * its size and modification time: the JVM refuses an archive whose jars changed, so a rebuild
 * makes a new one instead of a warning. Archives live in the {@link dev.trainyard.runtime.UserCache};
 * {@code launch --cds off} does without.
 */
final class WorkerClassArchive {
    private static final int KEEP = 4;
    private final Path archive;
    private final Path pending;

    private WorkerClassArchive(Path archive, Path pending) {
        this.archive = archive;
        this.pending = pending;
    }

    /**
     * The archive for workers started as {@code java} with {@code jvmOptions} on {@code classpath};
     * empty when the options already choose class sharing themselves, when the classpath holds a
     * directory of classes (the JVM archives classes from jars only, and says so at every exit), or
     * when the cache cannot be made.
     */
    static Optional<WorkerClassArchive> of(Path cacheDir, String java, List<String> jvmOptions, List<String> classpath) {
        if (jvmOptions.stream().anyMatch(o -> o.startsWith("-Xshare") || o.contains("SharedArchiveFile") || o.contains("ArchiveClassesAtExit"))) {
            return Optional.empty(); // the user's own choice
        }
        try {
            List<Path> entries = expand(classpath);
            if (entries.stream().anyMatch(Files::isDirectory)) {
                return Optional.empty();
            }
            Path dir = Files.createDirectories(cacheDir.resolve("cds"));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
            String key = digest(java, jvmOptions, entries);
            Path archive = dir.resolve("worker-" + key + ".jsa");
            return Optional.of(new WorkerClassArchive(archive, dir.resolve(".worker-" + key + "-" + ProcessHandle.current().pid() + ".jsa.tmp")));
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty(); // start-up is slower without it, nothing else
        }
    }

    Path archive() {
        return archive;
    }

    /** The JVM options of the worker with this local rank: map the archive, or (local rank 0) write it. */
    List<String> jvmOptions(int localRank) {
        if (Files.isRegularFile(archive)) {
            return List.of("-XX:SharedArchiveFile=" + archive);
        }
        // the dump warns once per class it cannot archive (over 200 lines for picocli's Java 5 classes), which would
        // bury the worker's own last words in its log, where the launcher quotes them from after a failure
        return localRank == 0 ? List.of("-XX:ArchiveClassesAtExit=" + pending, "-Xlog:cds*=off") : List.of();
    }

    /**
     * After the attempt: the archive the writer left becomes the one to map, if that worker
     * succeeded. True when an archive was kept.
     */
    boolean keepIfWritten(boolean writerSucceeded) {
        try {
            if (writerSucceeded && Files.size(pending) > 0) {
                Files.move(pending, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                removeOldArchives();
                return true;
            }
            return false;
        } catch (IOException e) {
            return false; // not written (the worker did not get to exit normally): the next launch tries again
        } finally {
            try {
                Files.deleteIfExists(pending);
            } catch (IOException ignored) {
                // a stray temp file in the user's cache
            }
        }
    }

    /**
     * Every rebuild or change of options makes a new archive (22 MB for the examples' classpath):
     * the newest {@value #KEEP} stay, for launches that alternate between classpaths.
     */
    private void removeOldArchives() throws IOException {
        List<Path> all;
        try (var files = Files.list(archive.getParent())) {
            all = files.filter(f -> f.getFileName().toString().startsWith("worker-") && f.getFileName().toString().endsWith(".jsa"))
                    .sorted(Comparator.comparing((Path f) -> {
                        try {
                            return Files.getLastModifiedTime(f);
                        } catch (IOException e) {
                            return FileTime.fromMillis(0);
                        }
                    }).reversed()).toList();
        }
        for (Path old : all.subList(Math.min(KEEP, all.size()), all.size())) {
            Files.deleteIfExists(old);
        }
    }

    private static String digest(String java, List<String> jvmOptions, List<Path> classpath) throws IOException {
        List<String> parts = new ArrayList<>(List.of(java, Runtime.version().toString()));
        parts.addAll(jvmOptions);
        for (Path entry : classpath) {
            parts.add(entry + " " + Files.size(entry) + " " + Files.getLastModifiedTime(entry).toMillis());
        }
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(String.join("\n", parts).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    /**
     * Classpath entries as the JVM sees them: each element may hold several joined by the path
     * separator, and {@code dir/*} is every jar in dir, in the order the directory lists them.
     */
    private static List<Path> expand(List<String> classpath) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String entry : classpath.stream().flatMap(e -> Arrays.stream(e.split(File.pathSeparator))).toList()) {
            if (entry.endsWith("/*")) {
                try (DirectoryStream<Path> jars = Files.newDirectoryStream(Path.of(entry.substring(0, entry.length() - 2)), "*.{jar,JAR}")) {
                    jars.forEach(out::add);
                }
            } else if (!entry.isEmpty() && Files.exists(Path.of(entry))) {
                out.add(Path.of(entry));
            }
        }
        return out;
    }
}
