package dev.trainyard.collectives;

/** How contributions of the ranks are combined. AVG is SUM followed by a division by the group size. */
public enum ReduceOp {
    SUM,
    AVG,
    MIN,
    MAX,
    PRODUCT
}
