package dev.trainyard.collectives;

import java.util.Locale;

/**
 * How the host communicator all-reduces messages above the small-message size when the job spans
 * hosts. Messages at or below {@code smallMessageBytes} always go in one direct exchange, and
 * ranks that all share one host use their shared segment or the ring, whatever this says.
 */
public enum AllReduceAlgorithm {
    /** Hierarchical where it applies (more than one host, the same number of ranks on each, more than one), else the ring. */
    AUTO,
    /** One ring over all ranks. */
    RING,
    /**
     * Reduce-scatter inside each host, all-reduce of each host's shard across hosts among the ranks
     * with the same local index, all-gather inside each host: each host's network link carries
     * 2(M-1)/M of the message (M hosts) instead of the flat ring's 2(N-1)/N (N ranks), in 2(M-1)
     * network latencies instead of 2(N-1). Refused where it does not apply.
     */
    HIERARCHICAL;

    /** The name on the command line: {@code auto}, {@code ring}, {@code hierarchical}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The algorithm named {@code name}, any case. */
    public static AllReduceAlgorithm parse(String name) {
        for (AllReduceAlgorithm a : values()) {
            if (a.cliName().equalsIgnoreCase(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown all-reduce algorithm '" + name + "'; use auto, ring or hierarchical");
    }
}
