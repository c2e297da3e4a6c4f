package dev.trainyard.collectives.host.algorithm;

/**
 * The ranks a ring pass runs over, in ring order, and this rank's place among them: all ranks of
 * the communicator, or a subgroup (the ranks of one host, or one rank of each host).
 */
record Ring(int[] members, int index) {

    /** Every rank of a communicator of {@code size}, in rank order. */
    static Ring all(int rank, int size) {
        int[] members = new int[size];
        for (int r = 0; r < size; r++) {
            members[r] = r;
        }
        return new Ring(members, rank);
    }

    int size() {
        return members.length;
    }

    /** The rank this one sends to. */
    int right() {
        return members[(index + 1) % members.length];
    }

    /** The rank this one receives from. */
    int left() {
        return members[(index + members.length - 1) % members.length];
    }
}
