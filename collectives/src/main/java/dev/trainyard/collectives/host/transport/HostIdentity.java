package dev.trainyard.collectives.host.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where this process runs, as ranks compare it: ranks with equal identities share a host (shared
 * memory between them works, and the hierarchical all-reduce groups them). Published through the
 * authenticated store, never guessed from an address.
 */
public final class HostIdentity {
    private HostIdentity() {
    }

    /** This machine as a host identity: its boot id and this process's network namespace. */
    public static String thisMachine() {
        String boot;
        try {
            boot = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException | SecurityException e) {
            boot = "-";
        }
        return boot + "/" + networkNamespace();
    }

    /** This process's network namespace, e.g. {@code net:[4026531840]} ({@code -} where /proc does not say). */
    public static String networkNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString().replace(' ', '_');
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return "-";
        }
    }
}
