package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.host.transport.Exchange;

/**
 * One empty frame from every rank to every other rank, carrying the fingerprint: afterwards each
 * rank knows all ranks issued the same collective. Used by collectives whose data flow alone does
 * not connect every pair of ranks, and as the barrier.
 */
public final class Agreement {
    private Agreement() {
    }

    public static void run(Exchange ex, int step) {
        int n = ex.size();
        int r = ex.rank();
        for (int p = 0; p < n; p++) {
            if (p != r) {
                ex.send(p, null, 0, 0, step, 0);
            }
        }
        for (int p = 0; p < n; p++) {
            if (p != r) {
                ex.release(ex.receive(p, step, 0, 0));
            }
        }
        ex.flush();
    }
}
