package dev.trainyard.runtime;

import dev.trainyard.collectives.AllReduceAlgorithm;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A worker's place in the job, as the launcher hands it over in the environment. This class is
 * the only writer ({@link #toEnvironment()}, launcher side) and the only reader
 * ({@link #fromEnvironment}, {@link #current()}, worker side) of those variables, whose names
 * {@link WorkerEnv} lists. Without {@code RANK} in the environment the worker is standalone: a
 * world of 1.
 *
 * @param token       null when standalone (nothing listens on the network then)
 * @param launcherPid the launcher to watch; empty when standalone or started by hand
 * @param transport   what carries tensor frames between ranks on the host ring
 * @param allReduce   ring or hierarchical all-reduce across hosts
 */
public record WorkerContext(int rank, int localRank, int worldSize, int localWorldSize, int nodeRank,
                            String masterAddr, int masterPort, int restartCount, JobToken token, String bindHost,
                            Path runDir, Backend backend, Duration rendezvousTimeout, Duration collectiveTimeout,
                            String storePrefix, Optional<Long> launcherPid, TransportSecurity security, Transport transport,
                            AllReduceAlgorithm allReduce, WorkerStartup startup) {
    /** Read once: the environment of a running JVM does not change. */
    private static volatile WorkerContext current;

    /**
     * This JVM's place in the job, read from its environment on first use.
     *
     * @throws IllegalStateException naming the malformed variable (the worker's main reports it and exits with 2)
     */
    public static WorkerContext current() {
        WorkerContext c = current;
        if (c == null) {
            c = fromEnvironment(System.getenv());
            current = c;
        }
        return c;
    }

    /** The same place in the job, with store keys under {@code prefix} (e.g. a phase of its own). */
    public WorkerContext withStorePrefix(String prefix) {
        return new WorkerContext(rank, localRank, worldSize, localWorldSize, nodeRank, masterAddr, masterPort, restartCount, token,
                bindHost, runDir, backend, rendezvousTimeout, collectiveTimeout, prefix, launcherPid, security, transport, allReduce, startup);
    }

    /** The communicator settings the launcher chose for this worker: its bind address, TLS and timeouts. */
    public CommunicatorOptions communicatorOptions() {
        return CommunicatorOptions.defaults(token)
                .withHosts(bindHost, bindHost)
                .withSecurity(security)
                .withTimeout(collectiveTimeout)
                .withConnectTimeout(rendezvousTimeout)
                .withTransport(transport)
                .withAllReduceAlgorithm(allReduce);
    }

    public boolean standalone() {
        return token == null;
    }

    /** A world of one: no store server, no network. */
    public static WorkerContext standaloneProcess() {
        return standaloneProcess(WorkerStartup.defaults());
    }

    private static WorkerContext standaloneProcess(WorkerStartup startup) {
        return new WorkerContext(0, 0, 1, 1, 0, "127.0.0.1", 0, 0, null, "127.0.0.1", Path.of("."),
                Backend.GRPC, Duration.ofMinutes(5), CommunicatorOptions.DEFAULT_TIMEOUT, "", Optional.empty(),
                TransportSecurity.plaintext(), Transport.SHARED_MEMORY, AllReduceAlgorithm.AUTO, startup);
    }

    /**
     * The variables that hand this place to a worker JVM, read back by {@link #fromEnvironment}
     * into an equal context.
     */
    public Map<String, String> toEnvironment() {
        if (standalone()) {
            throw new IllegalStateException("a standalone worker has no launcher environment");
        }
        Map<String, String> env = new HashMap<>();
        env.put(WorkerEnv.RANK, Integer.toString(rank));
        env.put(WorkerEnv.LOCAL_RANK, Integer.toString(localRank));
        env.put(WorkerEnv.WORLD_SIZE, Integer.toString(worldSize));
        env.put(WorkerEnv.LOCAL_WORLD_SIZE, Integer.toString(localWorldSize));
        env.put(WorkerEnv.NODE_RANK, Integer.toString(nodeRank));
        env.put(WorkerEnv.MASTER_ADDR, masterAddr);
        env.put(WorkerEnv.MASTER_PORT, Integer.toString(masterPort));
        env.put(WorkerEnv.RESTART_COUNT, Integer.toString(restartCount));
        env.put(WorkerEnv.TOKEN, token.value());
        env.put(WorkerEnv.BIND, bindHost);
        env.put(WorkerEnv.RUN_DIR, runDir.toString());
        env.put(WorkerEnv.BACKEND, backend.cliName());
        env.put(WorkerEnv.RENDEZVOUS_TIMEOUT, Durations.format(rendezvousTimeout));
        env.put(WorkerEnv.COLLECTIVE_TIMEOUT, Durations.format(collectiveTimeout));
        env.put(WorkerEnv.STORE_PREFIX, storePrefix);
        launcherPid.ifPresent(pid -> env.put(WorkerEnv.LAUNCHER_PID, Long.toString(pid)));
        List<Path> tls = security.files();
        if (!tls.isEmpty()) {
            env.put(WorkerEnv.TLS_CERT, tls.get(0).toString());
            env.put(WorkerEnv.TLS_KEY, tls.get(1).toString());
            env.put(WorkerEnv.TLS_CA, tls.get(2).toString());
        }
        env.put(WorkerEnv.TRANSPORT, transport.cliName());
        env.put(WorkerEnv.ALL_REDUCE, allReduce.cliName());
        env.put(WorkerEnv.PREFLIGHT, startup.preflight().envValue());
        env.put(WorkerEnv.MIN_FREE_DISK, Long.toString(startup.minFreeDisk()));
        env.put(WorkerEnv.TRACE, startup.trace());
        startup.visibleDevices().ifPresent(d -> env.put(WorkerEnv.CUDA_VISIBLE_DEVICES, d));
        return env;
    }

    /**
     * Reads the launcher's variables.
     *
     * @throws IllegalStateException naming the missing or malformed variable and what sets it
     */
    public static WorkerContext fromEnvironment(Map<String, String> env) {
        Reader r = new Reader(env);
        if (env.get(WorkerEnv.RANK) == null) {
            return standaloneProcess(r.startup()); // e.g. a hand-set TRAINYARD_TRACE still counts
        }
        int worldSize = r.integer(WorkerEnv.WORLD_SIZE, 1);
        int rank = r.integer(WorkerEnv.RANK, 0);
        if (rank >= worldSize) {
            throw new IllegalStateException(WorkerEnv.RANK + "=" + rank + " is outside " + WorkerEnv.WORLD_SIZE + "="
                    + worldSize + " (valid ranks: 0.." + (worldSize - 1) + ")");
        }
        String token = r.required(WorkerEnv.TOKEN);
        return new WorkerContext(rank,
                r.integerOr(WorkerEnv.LOCAL_RANK, rank), worldSize, r.integerOr(WorkerEnv.LOCAL_WORLD_SIZE, worldSize),
                r.integerOr(WorkerEnv.NODE_RANK, 0),
                r.required(WorkerEnv.MASTER_ADDR), r.integer(WorkerEnv.MASTER_PORT, 1),
                r.integerOr(WorkerEnv.RESTART_COUNT, 0),
                JobToken.of(token),
                env.getOrDefault(WorkerEnv.BIND, "127.0.0.1"),
                Path.of(env.getOrDefault(WorkerEnv.RUN_DIR, ".")),
                Backend.parse(env.getOrDefault(WorkerEnv.BACKEND, "grpc")),
                r.duration(WorkerEnv.RENDEZVOUS_TIMEOUT, Duration.ofMinutes(5)),
                r.duration(WorkerEnv.COLLECTIVE_TIMEOUT, CommunicatorOptions.DEFAULT_TIMEOUT),
                env.getOrDefault(WorkerEnv.STORE_PREFIX, ""),
                Optional.ofNullable(env.get(WorkerEnv.LAUNCHER_PID)).map(v -> (long) r.parse(WorkerEnv.LAUNCHER_PID, v, 1)),
                r.security(),
                r.transport(),
                r.valid(WorkerEnv.ALL_REDUCE, () -> AllReduceAlgorithm.parse(env.getOrDefault(WorkerEnv.ALL_REDUCE, "auto"))),
                r.startup());
    }

    /** Parses variables with errors that say which variable is wrong and who sets it. */
    private record Reader(Map<String, String> env) {
        private static final String HINT = " (the launcher sets it; start workers with './trainyard launch')";

        String required(String name) {
            String v = env.get(name);
            if (v == null || v.isBlank()) {
                throw new IllegalStateException("environment variable " + name + " is not set but RANK is" + HINT);
            }
            return v;
        }

        int integer(String name, int min) {
            return parse(name, required(name), min);
        }

        int integerOr(String name, int fallback) {
            String v = env.get(name);
            return v == null ? fallback : parse(name, v, 0);
        }

        int parse(String name, String v, int min) {
            try {
                int n = Integer.parseInt(v.strip());
                if (n >= min) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalStateException("environment variable " + name + "='" + v + "' must be an integer >= " + min + HINT);
        }

        WorkerStartup startup() {
            String trace = env.getOrDefault(WorkerEnv.TRACE, Tracing.DEFAULT);
            valid(WorkerEnv.TRACE, () -> Tracing.every(trace));
            PreflightMode preflight = valid(WorkerEnv.PREFLIGHT, () -> PreflightMode.parse(env.getOrDefault(WorkerEnv.PREFLIGHT, "off")));
            long minFree = valid(WorkerEnv.MIN_FREE_DISK, () -> Long.parseLong(env.getOrDefault(WorkerEnv.MIN_FREE_DISK, "0").strip()));
            return new WorkerStartup(preflight, minFree, trace, Optional.ofNullable(env.get(WorkerEnv.CUDA_VISIBLE_DEVICES)));
        }

        /** {@code parse}'s value, or an error naming the variable (NumberFormatException is an IllegalArgumentException). */
        <T> T valid(String name, java.util.function.Supplier<T> parse) {
            try {
                return parse.get();
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("environment variable " + name + "='" + env.get(name) + "': " + e.getMessage() + HINT, e);
            }
        }

        Transport transport() {
            try {
                return Transport.parse(env.getOrDefault(WorkerEnv.TRANSPORT, Transport.SHARED_MEMORY.cliName()));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("environment variable " + WorkerEnv.TRANSPORT + ": " + e.getMessage() + HINT, e);
            }
        }

        /** Mutual TLS when the launcher passed the three PEM files, else plaintext. */
        TransportSecurity security() {
            String cert = env.get(WorkerEnv.TLS_CERT);
            if (cert == null) {
                return TransportSecurity.plaintext();
            }
            try {
                return TransportSecurity.mutualTls(Path.of(cert), Path.of(required(WorkerEnv.TLS_KEY)), Path.of(required(WorkerEnv.TLS_CA)));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("environment variable " + WorkerEnv.TLS_CERT + ": " + e.getMessage(), e);
            }
        }

        Duration duration(String name, Duration fallback) {
            String v = env.get(name);
            try {
                return v == null ? fallback : Durations.parse(v);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("environment variable " + name + ": " + e.getMessage(), e);
            }
        }
    }
}
