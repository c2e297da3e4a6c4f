package dev.trainyard.collectives.host;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The data plane's TCP connections probe an idle peer within seconds. Read back from the kernel, not from our own
 * settings: {@code /proc/self/net/tcp} shows, for each of this process's sockets, the timer the kernel runs on it
 * (2 = keepalive) and when it fires; Linux's default keepalive would fire after two hours.
 */
class KeepaliveTest {

    @Test
    void dataPlaneConnectionsRunAKeepaliveTimerOfSeconds() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/net/tcp")), "SKIPPED: no /proc/self/net/tcp (not Linux)");
        try (LocalGroup g = new LocalGroup(2, Transport.TCP)) {
            g.onAll(r -> {
                g.comm(r).allReduce(ByteBuffer.allocateDirect(4096), DataType.FLOAT32, ReduceOp.SUM);
                return null;
            });
            // two data-plane connections (one each way), both ends in this JVM: four sockets probing within 10 s,
            // once the last acknowledgements arrive (until then the kernel runs the retransmit timer instead)
            long deadline = System.nanoTime() + 5_000_000_000L;
            List<long[]> timers = keepaliveTimers();
            long soon = timers.stream().filter(t -> t[1] <= 10 * 100).count();
            while (soon < 4 && System.nanoTime() < deadline) {
                timers = keepaliveTimers();
                soon = timers.stream().filter(t -> t[1] <= 10 * 100).count();
            }
            List<long[]> last = timers;
            assertTrue(soon >= 4, "sockets with a keepalive timer of at most 10 s: " + soon + " (all: "
                    + last.stream().map(t -> t[1] / 100 + " s").toList() + ")");
        }
    }

    /** {inode, ticks until the keepalive timer fires (USER_HZ = 100)} for this process's established TCP sockets. */
    private static List<long[]> keepaliveTimers() throws IOException {
        Set<Long> ours = new HashSet<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        ours.add(Long.parseLong(target.substring(8, target.length() - 1)));
                    }
                } catch (IOException closedMeanwhile) {
                    // the listing's own descriptor, or one closed since
                }
            }
        }
        List<long[]> out = new ArrayList<>();
        for (String table : List.of("/proc/self/net/tcp", "/proc/self/net/tcp6")) {
            Path p = Path.of(table);
            if (!Files.isReadable(p)) {
                continue;
            }
            for (String line : Files.readAllLines(p).subList(1, Files.readAllLines(p).size())) {
                String[] f = line.trim().split("\\s+");
                String[] timer = f[5].split(":"); // tr:tm->when
                if (f[3].equals("01") && timer[0].equals("02") && ours.contains(Long.parseLong(f[9]))) {
                    out.add(new long[] {Long.parseLong(f[9]), Long.parseLong(timer[1], 16)});
                }
            }
        }
        return out;
    }
}
