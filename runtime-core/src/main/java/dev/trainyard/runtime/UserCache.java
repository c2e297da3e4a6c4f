package dev.trainyard.runtime;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where Trainyard keeps what it can make again but would rather not on every start (the worker
 * JVMs' class-data archives, decompressed datasets): {@code $TRAINYARD_CACHE_DIR}, else
 * {@code $XDG_CACHE_HOME/trainyard}, else {@code ~/.cache/trainyard}. Deleting it costs start-up
 * time only.
 */
public final class UserCache {
    private UserCache() {
    }

    public static Path dir() {
        return dir(System.getenv());
    }

    public static Path dir(Map<String, String> env) {
        if (env.get("TRAINYARD_CACHE_DIR") != null) {
            return Path.of(env.get("TRAINYARD_CACHE_DIR"));
        }
        if (env.get("XDG_CACHE_HOME") != null) {
            return Path.of(env.get("XDG_CACHE_HOME"), "trainyard");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "trainyard");
    }
}
