package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/** Secrets (the job token, a TLS key) must not be readable by other users: whoever reads one can join the job. */
public final class PrivateFile {
    private PrivateFile() {
    }

    /** @throws UsageException naming the option and the chmod that fixes it */
    public static void requirePrivate(String option, Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.GROUP_READ)) {
            throw new UsageException(option + " " + file + " is readable by other users; run: chmod 600 " + file);
        }
    }
}
