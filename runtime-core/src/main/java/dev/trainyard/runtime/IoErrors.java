package dev.trainyard.runtime;

import java.io.IOException;
import java.nio.file.FileSystemException;

/** How an I/O failure reads in one line of ours. */
public final class IoErrors {
    private IoErrors() {
    }

    /** The reason, with the errno's name for a full disk ("No space left on device" is ENOSPC), as users search for it. */
    public static String describe(IOException e) {
        String m = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : String.valueOf(e.getMessage());
        return m.contains("No space left on device") ? m + " (ENOSPC)" : m;
    }
}
