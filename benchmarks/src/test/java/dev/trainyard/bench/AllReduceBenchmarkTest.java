package dev.trainyard.bench;

import dev.trainyard.runtime.ByteSize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AllReduceBenchmarkTest {

    @Test
    void byteSizesParseLikeNcclTests() {
        assertEquals(4096, ByteSize.parse("4K"));
        assertEquals(256L << 20, ByteSize.parse("256M"));
        assertEquals(1L << 30, ByteSize.parse("1GiB"));
        assertEquals(123, ByteSize.parse("123"));
        assertEquals("64M", ByteSize.format(64L << 20));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ByteSize.parse("4Q"));
        assertTrue(e.getMessage().contains("4K"), e.getMessage());
        assertEquals(5, AllReduceBenchmark.sizes(4096, 65536).length);
    }

    /**
     * Two real worker JVMs on loopback, end to end: every size gets a row with a positive time; with
     * Open MPI installed, its side-by-side sweep too (mpirun, two ranks, shared memory).
     */
    @Test
    void sweepRunsTwoWorkerJvmsAndWritesJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("out.json");
        List<String> args = new ArrayList<>(List.of("--nproc", "2", "--min-bytes", "4K",
                "--max-bytes", "256K", "--iters", "3", "--warmup", "1", "--warmup-bytes", "16M", "--json", json.toString()));
        String mpiMissing = MpiPeer.unavailableReason();
        if (mpiMissing == null) {
            args.addAll(List.of("--compare", "mpi"));
        } else {
            System.out.println("SKIPPED the Open MPI part of sweepRunsTwoWorkerJvmsAndWritesJson: " + mpiMissing);
        }
        int rc = new CommandLine(new AllReduceBenchmark()).execute(args.toArray(String[]::new));
        assertEquals(0, rc);
        String text = Files.readString(json);
        if (mpiMissing == null) {
            Matcher mpi = Pattern.compile("\"mpi_time_s\":([0-9.]+)").matcher(text);
            int mpiRows = 0;
            while (mpi.find()) {
                assertTrue(Double.parseDouble(mpi.group(1)) > 0, text);
                mpiRows++;
            }
            assertEquals(7, mpiRows, text);
        }
        Matcher m = Pattern.compile("\"bytes\":(\\d+),\"iters\":3,\"time_s\":([0-9.]+)").matcher(text);
        int rows = 0;
        while (m.find()) {
            assertEquals(4096L << rows, Long.parseLong(m.group(1)));
            assertTrue(Double.parseDouble(m.group(2)) > 0, text);
            rows++;
        }
        assertEquals(7, rows, text);
    }

    @Test
    void ncclIsPointedToTheGpuCheck() {
        int rc = new CommandLine(new AllReduceBenchmark()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            assertTrue(e.getMessage().contains("NCCL on device memory is measured by benchmarks/gpu/run.sh"), e.getMessage());
            return 2;
        }).execute("--backend", "nccl");
        assertEquals(2, rc);
    }
}
