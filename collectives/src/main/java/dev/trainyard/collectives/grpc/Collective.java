package dev.trainyard.collectives.grpc;

/** One algorithm applied to one call's buffers; runs on the collective thread. */
@FunctionalInterface
interface Collective {
    void run(Exchange ex);
}
