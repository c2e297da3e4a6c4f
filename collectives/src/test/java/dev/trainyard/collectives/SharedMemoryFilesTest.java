package dev.trainyard.collectives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.trainyard.collectives.security.JobToken;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedMemoryFilesTest {
    @Test
    void launcherCleanupRemovesOnlyThisJobsFiles(@TempDir Path dir) throws IOException {
        JobToken job = JobToken.generate();
        JobToken other = JobToken.generate();
        String prefix = SharedMemoryFiles.prefix(job);
        assertFalse(prefix.contains(job.value()), "the file names do not reveal the token");
        Files.createFile(dir.resolve(prefix + "0-from-1-ab"));
        Files.createFile(dir.resolve(prefix + "1-from-0-cd"));
        Path foreign = Files.createFile(dir.resolve(SharedMemoryFiles.prefix(other) + "0-from-1-ef"));
        assertEquals(2, SharedMemoryFiles.removeLeftovers(dir, job));
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(foreign), left.toList());
        }
    }

}
