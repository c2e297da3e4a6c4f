package dev.trainyard.collectives;

/**
 * Identity of one collective call. Every rank must issue the same sequence of fingerprints;
 * the transport compares them on every message so a disagreement fails loudly instead of
 * producing wrong numbers or a hang.
 *
 * @param seq      position of the call in this communicator's issue order, from 0
 * @param op       the collective
 * @param reduceOp the reduction, or {@code null} where the collective has none
 * @param dataType element type
 * @param count    element count of the per-rank input
 * @param root     root rank for broadcast, -1 otherwise
 */
public record Fingerprint(long seq, CollectiveOp op, ReduceOp reduceOp, DataType dataType, long count, int root) {

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder().append(op).append(" #").append(seq).append(" (");
        if (reduceOp != null) {
            sb.append(reduceOp).append(", ");
        }
        sb.append(dataType).append(", ").append(count).append(count == 1 ? " element" : " elements");
        if (root >= 0) {
            sb.append(", root ").append(root);
        }
        return sb.append(')').toString();
    }
}
