package dev.trainyard.bench;

import dev.trainyard.testbed.SimulatedCluster;
import java.io.IOException;
import java.util.Optional;

/** {@code --link RATE}: the simulated cluster of the benchmarks, with a clear error where it cannot be built. */
final class LinkOption {
    private LinkOption() {
    }

    static SimulatedCluster cluster(int hosts, String rate) throws IOException, InterruptedException {
        SimulatedCluster.bitsPerSecond(rate); // bad rates fail before anything is created
        String why = SimulatedCluster.unavailableReason();
        if (why != null) {
            throw new IllegalStateException("--link " + rate + ": " + why);
        }
        return SimulatedCluster.create(hosts, Optional.of(rate));
    }
}
