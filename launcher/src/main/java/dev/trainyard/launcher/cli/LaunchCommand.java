package dev.trainyard.launcher.cli;

import dev.trainyard.launcher.Clock;
import dev.trainyard.launcher.Console;
import dev.trainyard.launcher.UsageException;
import dev.trainyard.launcher.plan.ClusterEnvironment;
import dev.trainyard.launcher.plan.EntryPoint;
import dev.trainyard.launcher.plan.GpuInventory;
import dev.trainyard.launcher.plan.LaunchPlan;
import dev.trainyard.launcher.plan.PrivateFile;
import dev.trainyard.launcher.plan.RunDirectory;
import dev.trainyard.launcher.plan.TokenFile;
import dev.trainyard.launcher.supervise.Launcher;

import dev.trainyard.runtime.PreflightMode;
import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.nccl.NcclProbe;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.security.TransportSecurity;
import dev.trainyard.collectives.AllReduceAlgorithm;
import dev.trainyard.collectives.Transport;
import dev.trainyard.runtime.Backend;
import dev.trainyard.runtime.ByteSize;
import dev.trainyard.runtime.Durations;
import dev.trainyard.runtime.Tracing;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "launch", sortOptions = false, usageHelpAutoWidth = true, mixinStandardHelpOptions = true,
        description = {"Start one worker JVM per GPU (or --nproc-per-node CPU workers) on this node, host the "
                + "rendezvous store on node 0, supervise the workers and tear everything down on failure.",
                "Worker options after the main class or JAR pass through; after --example NAME put them behind '--'."})
public class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc-per-node", paramLabel = "N", description = "workers on this node (default: visible GPUs, else 1)")
    Integer nprocPerNode;
    @Option(names = "--nnodes", paramLabel = "M", description = "nodes in the job (default 1, or SLURM_NNODES)")
    Integer nnodes;
    @Option(names = "--node-rank", paramLabel = "R", description = "this node's rank (default 0, or SLURM_NODEID / JOB_COMPLETION_INDEX)")
    Integer nodeRank;
    @Option(names = "--master-addr", paramLabel = "HOST", description = "node 0's address (default on node 0: --bind; SLURM: first host of the job)")
    String masterAddr;
    @Option(names = "--master-port", paramLabel = "P", defaultValue = "0", description = "rendezvous store port (default 0: pick a free one and print it)")
    int masterPort;
    @Option(names = "--backend", paramLabel = "auto|nccl|grpc", defaultValue = "auto")
    String backend;
    @Option(names = "--transport", paramLabel = "shared-memory|tcp|grpc-stream", defaultValue = "shared-memory",
            description = "what carries tensors between CPU workers: shared memory between workers on one host and TCP between hosts (default), TCP only, or gRPC streams")
    String transport;
    @Option(names = "--all-reduce", paramLabel = "auto|ring|hierarchical", defaultValue = "auto",
            description = "across hosts: hierarchical (inside each host, then across, then inside again; the default where every host has the same number of workers, 2 or more) or one ring over all workers")
    String allReduce;
    @Option(names = "--max-restarts", paramLabel = "K", defaultValue = "0", description = "restart the whole group up to K times after a failure")
    int maxRestarts;
    @Option(names = "--run-dir", paramLabel = "DIR", description = "logs and metrics (default runs/<timestamp>)")
    Path runDir;
    @Option(names = "--resume", description = "continue the run that --run-dir already holds: its workers resume from its checkpoints, its attempts and report go on")
    boolean resume;
    @Option(names = "--token-file", paramLabel = "F", description = "job secret shared by all nodes (required for --nnodes > 1; mode 600)")
    Path tokenFile;
    @Option(names = "--bind", paramLabel = "ADDR", description = "address this node listens on (default 127.0.0.1 for one node; required for several)")
    String bind;
    @Option(names = "--tls-cert", paramLabel = "PEM", description = "this node's certificate for mutual TLS between nodes (with --tls-key and --tls-ca)")
    Path tlsCert;
    @Option(names = "--tls-key", paramLabel = "PEM", description = "its private key, PKCS#8 PEM, mode 600")
    Path tlsKey;
    @Option(names = "--tls-ca", paramLabel = "PEM", description = "the CA that signed every node's certificate")
    Path tlsCa;
    @Option(names = "--jvm-opt", paramLabel = "OPT", description = "option for every worker JVM (repeatable), e.g. --jvm-opt=-Xmx4g")
    List<String> jvmOpts = new ArrayList<>();
    @Option(names = "--classpath", paramLabel = "CP", description = "the application's classes and JARs (':'-separated; dir/* for all JARs in dir)")
    String classpath;
    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "5m", description = "how long rendezvous waits for nodes and workers (e.g. 30s, 5m)")
    String timeout;
    @Option(names = "--collective-timeout", paramLabel = "DURATION", description = "per-collective timeout in the workers (default 5m)")
    String collectiveTimeout;
    @Option(names = "--stall-timeout", paramLabel = "DURATION", defaultValue = "10s",
            description = "a worker process that does not run at all for this long (SIGSTOP, stuck JVM, swapped out) fails the job, named (off: disabled)")
    String stallTimeout;
    @Option(names = "--grace-period", paramLabel = "DURATION", defaultValue = "5s", description = "SIGTERM to SIGKILL delay when stopping workers")
    String gracePeriod;
    @Option(names = "--preflight", paramLabel = "quick|full|off", defaultValue = "quick",
            description = "checks before the first step: quick (everything that can stop the job; default), full (also every ring link's"
                    + " bandwidth), off (see 'trainyard preflight')")
    String preflightChecks;
    @Option(names = "--cds", paramLabel = "auto|off", defaultValue = "auto",
            description = "auto: worker JVMs map a class-data archive of their classes (written by the first launch of a classpath into"
                    + " ~/.cache/trainyard, or $TRAINYARD_CACHE_DIR), which shortens every start-up; off: without")
    String cds;
    @Option(names = "--no-preflight", description = "the same as --preflight off")
    boolean noPreflight;
    @Option(names = "--min-free-disk", paramLabel = "SIZE", defaultValue = "512m", description = "free space preflight requires in the run directory (e.g. 512M, 20G)")
    String minFreeDisk;
    @Option(names = "--verbose", description = "show every worker's output on the console too (it is always in RUN_DIR/rank-N.log)")
    boolean verbose;
    @Option(names = "--trace", paramLabel = "off|full|every:K", defaultValue = Tracing.DEFAULT, description = "which steps the timeline records (default: ${DEFAULT-VALUE})")
    String trace;
    @Option(names = "--metrics-port", paramLabel = "P", description = "serve progress metrics for Prometheus on --bind:P/metrics (0: pick a free port and print it)")
    Integer metricsPort;
    @Option(names = "--example", paramLabel = "NAME", description = "run a bundled example instead of your own main class (e.g. allreduce)")
    String example;
    @Parameters(paramLabel = "MAIN_CLASS|JAR [ARGS]", arity = "0..*", description = "what each worker runs, then its arguments")
    List<String> positional = new ArrayList<>();

    @Override
    public Integer call() {
        return new Launcher(plan(), Console.standard(), Clock.system()).run();
    }

    /** Checks every input and fills the defaults; a problem becomes one {@link UsageException} line. */
    LaunchPlan plan() {
        ClusterEnvironment cluster = ClusterEnvironment.detect(System.getenv());
        GpuInventory gpus = GpuInventory.detect();
        int m = positive("--nnodes", nnodes != null ? nnodes : cluster.nnodes().orElse(1));
        int r = nodeRank != null ? nodeRank : cluster.nodeRank().orElse(0);
        if (r < 0 || r >= m) {
            throw new UsageException("--node-rank " + r + " is not below --nnodes " + m + " (node ranks are 0.." + (m - 1) + ")"
                    + (nodeRank == null ? "; it came from the " + cluster.scheduler() + " environment" : ""));
        }
        int n = positive("--nproc-per-node", nprocPerNode != null ? nprocPerNode : Math.max(1, gpus.count()));
        if (masterPort < 0 || masterPort > 65535) {
            throw new UsageException("--master-port " + masterPort + " is not a port (0..65535; 0 picks a free one)");
        }
        if (metricsPort != null && (metricsPort < 0 || metricsPort > 65535)) {
            throw new UsageException("--metrics-port " + metricsPort + " is not a port (0..65535; 0 picks a free one)");
        }
        if (maxRestarts < 0) {
            throw new UsageException("--max-restarts must be 0 or more, got " + maxRestarts);
        }
        String bindAddr = bindAddress(m);
        String master = masterAddr != null ? masterAddr : cluster.masterAddr().orElse(r == 0 ? bindAddr : null);
        if (master == null) {
            throw new UsageException("--master-addr is required with --nnodes " + m + ": the address of node 0 (on Kubernetes: the headless-service name of pod 0)");
        }
        if (r == 0) {
            // node 0's workers reach the store by this name; other nodes retry it until --timeout (DNS may lag on Kubernetes)
            resolvable("--master-addr", master);
        }
        if (r > 0 && masterPort == 0) {
            throw new UsageException("--master-port is required on node " + r + ": use the port node 0's launcher printed, or give both the same fixed port");
        }
        Backend b = backendFor(parseBackend(), gpus, n);
        List<String> cp = classpath == null ? List.of() : Arrays.stream(classpath.split(File.pathSeparator)).filter(s -> !s.isBlank()).toList();
        String target = example == null && !positional.isEmpty() ? positional.get(0) : null;
        List<String> args = example == null && !positional.isEmpty() ? positional.subList(1, positional.size()) : positional;
        EntryPoint entry = EntryPoint.resolve(target, example, cp);
        JobToken token = tokenFile != null ? TokenFile.read(tokenFile) : singleNodeToken(m);
        List<String> gpuIds = b == Backend.GRPC && gpus.count() < n ? List.of() : gpus.deviceIds().subList(0, Math.min(n, gpus.count()));
        Duration rendezvous = duration("--timeout", timeout);
        Optional<Duration> collective = Optional.ofNullable(collectiveTimeout).map(t -> duration("--collective-timeout", t));
        Duration grace = duration("--grace-period", gracePeriod);
        TransportSecurity tls = security();
        long minFree = bytes("--min-free-disk", minFreeDisk);
        String trace = tracing();
        Transport transport = parseTransport();
        AllReduceAlgorithm allReduceAlgorithm = parseAllReduce();
        if (allReduceAlgorithm == AllReduceAlgorithm.HIERARCHICAL && (m == 1 || n == 1)) {
            // the workers would find out at their first connection; what the command line already says is said here
            throw new UsageException("--all-reduce hierarchical needs several nodes with several workers each (this launch: " + m
                    + " node(s) x " + n + " worker(s)); use --all-reduce auto or ring");
        }
        Duration stall = stallTimeout.strip().equalsIgnoreCase("off") ? Duration.ZERO : duration("--stall-timeout", stallTimeout);
        if (runDir != null && !resume && preflight() != PreflightMode.ONLY) {
            RunDirectory.earlierRun(runDir, r, r * n, n).ifPresent(earlier -> {
                throw new UsageException("--run-dir " + runDir + " already holds an earlier run (" + earlier.getFileName()
                        + "); give --resume to continue it from its checkpoints, or choose a new --run-dir");
            });
        }
        // last: a refused command line leaves no empty run directory behind
        Path dir = runDir != null ? runDir : freshRunDir(Path.of("runs"));
        return new LaunchPlan(n, m, r, master, masterPort, bindAddr, b, maxRestarts, dir, token, List.copyOf(jvmOpts),
                entry, List.copyOf(args), rendezvous, collective, grace, gpuIds, tls, preflight(), minFree,
                verbose, trace, Optional.ofNullable(metricsPort), transport, allReduceAlgorithm, classDataSharing(), stall);
    }

    /**
     * {@code runs/<date>-<time>-<ms>}, created here so that two launches started in the same
     * millisecond cannot share one (the second gets a {@code -2} suffix): each run's logs, metrics
     * and checkpoints stay its own.
     */
    static Path freshRunDir(Path parent) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS"));
        try {
            Files.createDirectories(parent);
            for (int i = 1; ; i++) {
                Path dir = parent.resolve(i == 1 ? stamp : stamp + "-" + i);
                try {
                    return Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(RunDirectory.OWNER_ONLY));
                } catch (FileAlreadyExistsException taken) {
                    // another launch took this name a moment ago: try the next
                }
            }
        } catch (IOException e) {
            throw new UsageException("cannot create a run directory under " + parent.toAbsolutePath() + ": " + e.getMessage()
                    + "; give one with --run-dir", e);
        }
    }

    /** {@code launch} checks before the first step unless told not to; {@code preflight} overrides this to check only. */
    PreflightMode preflight() {
        if (noPreflight) {
            return PreflightMode.OFF;
        }
        return switch (preflightChecks.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "quick" -> PreflightMode.FIRST;
            case "full" -> PreflightMode.FIRST_FULL;
            case "off" -> PreflightMode.OFF;
            default -> throw new UsageException("--preflight: unknown checks '" + preflightChecks + "'; use quick, full or off");
        };
    }

    private String tracing() {
        try {
            Tracing.every(trace);
            return trace.strip();
        } catch (IllegalArgumentException e) {
            throw new UsageException("--trace: " + e.getMessage(), e);
        }
    }

    private static long bytes(String option, String text) {
        try {
            return ByteSize.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + ": " + e.getMessage(), e);
        }
    }

    /** Mutual TLS when all three files are given; plaintext when none is. */
    private TransportSecurity security() {
        long given = Stream.of(tlsCert, tlsKey, tlsCa).filter(Objects::nonNull).count();
        if (given == 0) {
            return TransportSecurity.plaintext();
        }
        if (given < 3) {
            throw new UsageException("TLS needs all of --tls-cert, --tls-key and --tls-ca (PEM files; the same CA on every node)");
        }
        try {
            if (Files.isReadable(tlsKey)) {
                PrivateFile.requirePrivate("--tls-key", tlsKey);
            }
            return TransportSecurity.mutualTls(tlsCert.toAbsolutePath(), tlsKey.toAbsolutePath(), tlsCa.toAbsolutePath());
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage(), e);
        } catch (IOException e) {
            throw new UsageException("--tls-key " + tlsKey + " cannot be checked: " + e.getMessage(), e);
        }
    }

    private Transport parseTransport() {
        try {
            return Transport.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--transport: " + e.getMessage(), e);
        }
    }

    private boolean classDataSharing() {
        return switch (cds.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> true;
            case "off" -> false;
            default -> throw new UsageException("--cds: unknown setting '" + cds + "'; use auto or off");
        };
    }

    private AllReduceAlgorithm parseAllReduce() {
        try {
            return AllReduceAlgorithm.parse(allReduce);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--all-reduce: " + e.getMessage(), e);
        }
    }

    private Backend parseBackend() {
        try {
            return Backend.parse(backend);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--backend: " + e.getMessage(), e);
        }
    }

    private static int positive(String name, int v) {
        if (v < 1) {
            throw new UsageException(name + " must be at least 1, got " + v);
        }
        return v;
    }

    private static Duration duration(String name, String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(name + ": " + e.getMessage(), e);
        }
    }

    /** Loopback for one node; several nodes need an explicit address on the cluster network. */
    private String bindAddress(int nodes) {
        if (bind == null) {
            if (nodes > 1) {
                throw new UsageException("--bind is required with --nnodes " + nodes + ": this node's address on the network the nodes share");
            }
            return "127.0.0.1";
        }
        InetAddress a = resolvable("--bind", bind);
        if (a.isAnyLocalAddress()) {
            throw new UsageException("--bind " + bind + " would listen on every interface; give this node's address on the cluster network");
        }
        try {
            if (!a.isLoopbackAddress() && NetworkInterface.getByInetAddress(a) == null) {
                throw new UsageException("--bind " + bind + " is not an address of this host (see 'ip addr')");
            }
        } catch (SocketException e) {
            throw new UsageException("cannot list this host's addresses to check --bind: " + e.getMessage(), e);
        }
        return a.getHostAddress();
    }

    private static InetAddress resolvable(String option, String host) {
        try {
            return InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new UsageException(option + " " + host + " does not resolve to an address; check the host name", e);
        }
    }

    /**
     * {@code auto} is decided by the workers together (every rank must be able to run NCCL); {@code nccl}
     * is checked here first, so a node that cannot run it fails before any worker starts.
     */
    private Backend backendFor(Backend requested, GpuInventory gpus, int nproc) {
        if (requested == Backend.NCCL) {
            if (tlsCert != null || tlsKey != null || tlsCa != null) {
                throw new UsageException("--backend nccl cannot be combined with --tls-*: NCCL does not encrypt its traffic;"
                        + " use --backend grpc (or auto) for an encrypted job");
            }
            NcclAvailability nccl = NcclProbe.local();
            if (!nccl.usable()) {
                throw new UsageException("--backend nccl: NCCL cannot be used on this node: " + nccl.reason()
                        + ". Use --backend auto to fall back to gRPC");
            }
            if (nproc > gpus.count()) {
                throw new UsageException("--backend nccl needs one GPU per worker: --nproc-per-node " + nproc + " but "
                        + gpus.count() + " GPUs are visible (" + String.join(",", gpus.deviceIds()) + ")");
            }
        }
        if (gpus.count() > 0 && nproc > gpus.count() && requested == Backend.AUTO) {
            throw new UsageException("--nproc-per-node " + nproc + " but only " + gpus.count() + " GPUs are visible ("
                    + String.join(",", gpus.deviceIds()) + "); lower it, or use --backend grpc for CPU workers");
        }
        return requested;
    }

    private static JobToken singleNodeToken(int nodes) {
        if (nodes > 1) {
            throw new UsageException("--token-file is required with several nodes: the same secret file on every node; "
                    + "create it with: head -c 32 /dev/urandom | xxd -p -c 64 > job.token && chmod 600 job.token");
        }
        return JobToken.generate();
    }
}
