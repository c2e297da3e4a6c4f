package dev.trainyard.collectives;

/** The collective kinds; part of every fingerprint. */
public enum CollectiveOp {
    ALL_REDUCE,
    BROADCAST,
    ALL_GATHER,
    REDUCE_SCATTER,
    BARRIER
}
