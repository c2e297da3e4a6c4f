package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.supervise.Launcher;

import dev.trainyard.runtime.PreflightMode;
import dev.trainyard.collectives.AllReduceAlgorithm;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.runtime.Backend;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A checked launch: everything {@link Launcher} needs, with every user error already reported.
 *
 * @param gpuIds            device id per local rank, or empty for CPU workers
 * @param collectiveTimeout per-collective timeout for the workers; empty keeps the communicator's default
 * @param security          plaintext, or mutual TLS for the store and every worker connection
 * @param preflight         whether workers run the preflight checks before the first step, or only them
 * @param minFreeDisk       bytes preflight requires free in the run directory
 * @param verbose           worker output on the console too (else only in the rank logs, with one progress line)
 * @param trace             which steps the timeline records ({@code off}, {@code full}, {@code every:K})
 * @param metricsPort       where to serve Prometheus metrics, if anywhere (0: a free port)
 * @param transport         what carries the CPU workers' tensors (shared memory on one host and TCP between hosts by default)
 * @param allReduce         ring or hierarchical all-reduce across hosts (auto: hierarchical where it applies)
 * @param classDataSharing  whether worker JVMs map (and on the first launch write) a class-data archive of their classes
 * @param stallTimeout      how long a worker process may not run at all before the launcher fails the job naming it (0: never)
 */
public record LaunchPlan(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort, String bind,
                  Backend backend, int maxRestarts, Path runDir, JobToken token, List<String> jvmOpts,
                  EntryPoint entry, List<String> workerArgs, Duration rendezvousTimeout,
                  Optional<Duration> collectiveTimeout, Duration gracePeriod, List<String> gpuIds,
                  TransportSecurity security, PreflightMode preflight, long minFreeDisk, boolean verbose, String trace,
                  Optional<Integer> metricsPort, Transport transport, AllReduceAlgorithm allReduce, boolean classDataSharing,
                  Duration stallTimeout) {

    public int worldSize() {
        return nnodes * nprocPerNode;
    }

    public int globalRank(int localRank) {
        return nodeRank * nprocPerNode + localRank;
    }

    public boolean hostsStore() {
        return nodeRank == 0;
    }
}
