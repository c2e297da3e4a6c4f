package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.Console;

import dev.trainyard.runtime.RunLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.Set;

/**
 * The launcher's claim on its run directory.
 *
 * <p>An explicit {@code --run-dir} that already holds this node's earlier run is taken over only
 * with {@code --resume}: its workers would resume from its checkpoints and its logs and report
 * would carry on from the earlier attempts, which must be the user's choice, never the accident
 * of reusing a path. Only this node's own files count (its attempt log, its ranks' logs), so nodes
 * that share one directory on a shared file system do not refuse each other.
 *
 * <p>A directory the launcher creates is owner-only (0700): logs, metrics and checkpoints under it
 * stay private whatever each file's own mode, without touching the umask that the user's training
 * code writes its own files with.
 */
public final class RunDirectory {
    public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private RunDirectory() {
    }

    /** The first file of this node's earlier run in {@code dir}, if there is one. */
    public static Optional<Path> earlierRun(Path dir, int nodeRank, int firstRank, int ranks) {
        Path attempts = RunLayout.attempts(dir, nodeRank);
        if (Files.exists(attempts)) {
            return Optional.of(attempts);
        }
        for (int r = firstRank; r < firstRank + ranks; r++) {
            Path log = RunLayout.log(dir, r);
            if (Files.exists(log)) {
                return Optional.of(log);
            }
        }
        return Optional.empty();
    }

    /** Creates {@code dir} owner-only, or says once when an existing one lets other users read it. */
    public static void prepare(Path dir, Console console) throws IOException {
        if (!Files.isDirectory(dir)) {
            Path parent = dir.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            return;
        }
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(dir);
        if (mode.contains(PosixFilePermission.GROUP_EXECUTE) || mode.contains(PosixFilePermission.OTHERS_EXECUTE)) {
            console.warn("the run directory " + dir + " is open to other users (" + PosixFilePermissions.toString(mode)
                    + "): they can read its logs, metrics and checkpoints; run: chmod 700 " + dir);
        }
    }
}
