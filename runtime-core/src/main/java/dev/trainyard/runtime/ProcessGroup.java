package dev.trainyard.runtime;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.store.Store;

/**
 * What a worker trains with: its place in the job, the rendezvous store (scoped to this
 * restart generation) and the communicator of all ranks. Closing it leaves the group.
 */
public final class ProcessGroup implements AutoCloseable {
    private final WorkerContext context;
    private final Store store;
    private final Communicator communicator;
    private final AutoCloseable storeConnection;

    ProcessGroup(WorkerContext context, Store store, Communicator communicator, AutoCloseable storeConnection) {
        this.context = context;
        this.store = store;
        this.communicator = communicator;
        this.storeConnection = storeConnection;
    }

    public WorkerContext context() {
        return context;
    }

    public int rank() {
        return context.rank();
    }

    public int worldSize() {
        return context.worldSize();
    }

    public int localRank() {
        return context.localRank();
    }

    /** How many times the launcher restarted the group before this attempt (0 on the first). */
    public int restartCount() {
        return context.restartCount();
    }

    /** The store under this generation's prefix: keys here never collide with an earlier attempt's. */
    public Store store() {
        return store;
    }

    public Communicator communicator() {
        return communicator;
    }

    @Override
    public void close() {
        try {
            communicator.close();
        } finally {
            try {
                storeConnection.close();
            } catch (Exception e) {
                // leaving anyway; the store's owner cleans up
            }
        }
    }
}
