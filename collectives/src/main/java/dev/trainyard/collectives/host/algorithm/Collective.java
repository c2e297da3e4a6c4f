package dev.trainyard.collectives.host.algorithm;

import dev.trainyard.collectives.host.transport.Exchange;

/** One algorithm applied to one call's buffers; runs on the collective thread. */
@FunctionalInterface
public interface Collective {
    void run(Exchange ex);
}
