package dev.trainyard.launcher.supervise;

import dev.trainyard.launcher.Clock;
import dev.trainyard.launcher.LaunchFailedException;
import dev.trainyard.launcher.plan.LaunchPlan;

import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreTimeoutException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The launchers' side of one rendezvous generation, in the store under {@code gen/<g>/}:
 * nodes register and wait for each other, post heartbeats, race to record the first failure
 * (compare-and-set: the first one wins), mark themselves done, and say when they leave so node 0
 * keeps the store up until everybody has read the outcome. Workers of the generation use their
 * own sub-prefix, so a restarted group never sees an earlier attempt's keys.
 */
public final class JobRendezvous {
    private final Store store;
    private final LaunchPlan plan;
    private final String prefix;
    private final long[] lastBeat;
    private final long[] lastChangeNanos;

    private final Clock clock;

    JobRendezvous(Store store, LaunchPlan plan, int generation, Clock clock) {
        this.store = store;
        this.clock = clock;
        this.plan = plan;
        this.prefix = "gen/" + generation + "/";
        this.lastBeat = new long[plan.nnodes()];
        this.lastChangeNanos = new long[plan.nnodes()];
    }

    String workerPrefix() {
        return prefix + "workers/";
    }

    /**
     * Registers this node and waits for all others; checks they launch the same number of
     * workers and allow the same restarts (else ranks would not line up).
     *
     * @param earlierAttempts attempts this node's run directory recorded before this launch
     * @return the most any node recorded: a run continued with {@code --resume} goes on counting from there
     */
    int join(int earlierAttempts) {
        store.setString(prefix + "node/" + plan.nodeRank(), plan.nprocPerNode() + " " + plan.maxRestarts() + " " + earlierAttempts
                + " " + hostName());
        List<String> keys = new ArrayList<>();
        for (int n = 0; n < plan.nnodes(); n++) {
            keys.add(prefix + "node/" + n);
        }
        try {
            store.await(keys, plan.rendezvousTimeout());
        } catch (StoreTimeoutException e) {
            List<String> missing = e.missingKeys().stream().map(k -> k.substring(k.lastIndexOf('/') + 1)).toList();
            throw new LaunchFailedException("rendezvous timed out after " + plan.rendezvousTimeout().toSeconds()
                    + " s: node(s) " + String.join(", ", missing) + " of " + plan.nnodes()
                    + " did not join; start their launchers with the same --master-addr/--master-port, or raise --timeout");
        }
        int most = earlierAttempts;
        for (int n = 0; n < plan.nnodes(); n++) {
            String[] v = store.getString(prefix + "node/" + n, plan.rendezvousTimeout()).split(" ", 4);
            most = Math.max(most, Integer.parseInt(v[2]));
            if (Integer.parseInt(v[0]) != plan.nprocPerNode() || Integer.parseInt(v[1]) != plan.maxRestarts()) {
                throw new LaunchFailedException("node " + n + " (" + v[3] + ") launches --nproc-per-node " + v[0]
                        + " --max-restarts " + v[1] + " but this node uses " + plan.nprocPerNode() + " and "
                        + plan.maxRestarts() + "; give every node the same values");
            }
        }
        long now = clock.nanoTime();
        java.util.Arrays.fill(lastChangeNanos, now);
        return most;
    }

    void heartbeat() {
        store.add(prefix + "alive/" + plan.nodeRank(), 1);
    }

    /** Nodes whose heartbeat has not moved for {@code after} (checked by node 0). */
    List<Integer> silentNodes(Duration after) {
        List<Integer> silent = new ArrayList<>();
        long now = clock.nanoTime();
        for (int n = 0; n < plan.nnodes(); n++) {
            if (n == plan.nodeRank()) {
                continue;
            }
            long beat = store.add(prefix + "alive/" + n, 0);
            if (beat != lastBeat[n]) {
                lastBeat[n] = beat;
                lastChangeNanos[n] = now;
            } else if (now - lastChangeNanos[n] > after.toNanos() && !isDone(n)) {
                silent.add(n);
            }
        }
        return silent;
    }

    /** Records {@code f} unless another node was first; returns the failure that stands. */
    JobFailure reportFailure(JobFailure f) {
        return JobFailure.decode(store.compareAndSet(prefix + "failure", new byte[0], f.encode()));
    }

    Optional<JobFailure> failure() {
        String key = prefix + "failure";
        return store.check(List.of(key)) ? Optional.of(JobFailure.decode(store.get(key, Duration.ofSeconds(5)))) : Optional.empty();
    }

    void markDone() {
        store.setString(prefix + "done/" + plan.nodeRank(), "1");
    }

    private boolean isDone(int node) {
        return store.check(List.of(prefix + "done/" + node));
    }

    boolean allDone() {
        List<String> keys = new ArrayList<>();
        for (int n = 0; n < plan.nnodes(); n++) {
            keys.add(prefix + "done/" + n);
        }
        return store.check(keys);
    }

    /** Says this node has read the outcome and will not touch the store again. */
    void leave() {
        store.setString(prefix + "left/" + plan.nodeRank(), "1");
    }

    /**
     * Node 0: waits (briefly) until every node has read the outcome before the store goes away,
     * but not for nodes that have gone silent (cut off or dead): they cannot read it anyway.
     */
    void awaitAllLeft(Duration timeout, Duration silentAfter) {
        long deadline = clock.nanoTime() + timeout.toNanos();
        while (clock.nanoTime() < deadline) {
            List<Integer> waiting = new ArrayList<>();
            for (int n = 0; n < plan.nnodes(); n++) {
                if (!store.check(List.of(prefix + "left/" + n))) {
                    waiting.add(n);
                }
            }
            if (waiting.isEmpty() || silentNodes(silentAfter).containsAll(waiting)) {
                return;
            }
            clock.sleep(Duration.ofMillis(100));
        }
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown-host";
        }
    }
}
