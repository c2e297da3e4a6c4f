package dev.trainyard.bench;

import dev.trainyard.collectives.Transport;
import dev.trainyard.launcher.report.SvgChart;
import dev.trainyard.runtime.ByteSize;
import dev.trainyard.testbed.SimulatedCluster;
import dev.trainyard.testbed.ThrowawayCertificates;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * All-reduce bandwidth sweep like nccl-tests' all_reduce_perf: N ranks as separate JVMs on
 * loopback, float32 SUM, one row per size with the median time, algbw = bytes / time and
 * busbw = algbw x 2(n-1)/n. With {@code --compare gloo} the same sweep runs through PyTorch's
 * Gloo, alternating with Trainyard in every repeat so both see the same machine noise.
 */
@Command(name = "allreduce", mixinStandardHelpOptions = true,
        description = "All-reduce bandwidth sweep (separate JVM per rank, loopback).")
public final class AllReduceBenchmark implements Callable<Integer> {
    @Option(names = "--nproc", description = "ranks (default: ${DEFAULT-VALUE})")
    int nproc = 2;
    @Option(names = "--min-bytes", description = "smallest size (default: ${DEFAULT-VALUE})")
    String minBytes = "4K";
    @Option(names = "--max-bytes", description = "largest size (default: ${DEFAULT-VALUE})")
    String maxBytes = "256M";
    @Option(names = "--iters", description = "timed calls per size, fewer for sizes over 64M (default: ${DEFAULT-VALUE})")
    int iters = 20;
    @Option(names = "--warmup", description = "untimed calls per size (default: ${DEFAULT-VALUE})")
    int warmup = 3;
    @Option(names = "--warmup-bytes", description = "all-reduce traffic before timing starts, to reach JIT steady state (default: ${DEFAULT-VALUE})")
    String warmupBytes = "2G";
    @Option(names = "--repeat", description = "sweeps per backend; the median over repeats is reported (default: ${DEFAULT-VALUE})")
    int repeat = 1;
    @Option(names = "--chunk-bytes", description = "ring pipeline chunk (default: ${DEFAULT-VALUE})")
    String chunkBytes = "1M";
    @Option(names = "--transport", description = "what carries tensor frames: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Transport transport = Transport.SHARED_MEMORY;
    @Option(names = "--compare", description = "also run the sweep through this peer: gloo (PyTorch's), mpi (Open MPI's shared memory,"
            + " one host), or ring (Trainyard's flat ring, against the hierarchical all-reduce on --hosts)")
    String compare;
    @Option(names = "--hosts", description = "with --link: simulated hosts the ranks are spread over, evenly (default: one per rank)")
    Integer hosts;
    @Option(names = "--tls", description = "also sweep with mutual TLS between the ranks (throwaway certificates; TLS always carries"
            + " tensors on gRPC streams, so compare with --transport grpc-stream for the cost of encryption alone) and print TLS against plaintext")
    boolean tls;
    @Option(names = "--json", description = "write the results as JSON (and a busbw plot beside it, .svg) here")
    Path json;
    @Option(names = "--backend", description = "grpc (the NCCL sweep on device memory is benchmarks/gpu/run.sh)")
    String backend = "grpc";
    @Option(names = "--link", description = "run each rank on its own simulated host, links shaped to this rate (e.g. 1gbit; root only)")
    String link;

    public static void main(String[] args) {
        BenchCli.run(new AllReduceBenchmark(), args);
    }

    @Override
    public Integer call() throws Exception {
        if (nproc < 2) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--nproc must be at least 2 (got " + nproc + ")");
        }
        if (compare != null && !List.of("gloo", "mpi", "ring").contains(compare)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--compare takes gloo, mpi or ring (got '" + compare + "')");
        }
        if ("mpi".equals(compare) && link != null) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--compare mpi measures Open MPI's shared memory on one host; leave out --link");
        }
        int hostCount = hosts == null ? nproc : hosts;
        if (hosts != null && (link == null || hosts < 1 || nproc % hosts != 0)) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--hosts " + hosts + " needs --link and must divide --nproc " + nproc);
        }
        int perHost = perHost();
        if (!backend.equals("grpc")) {
            throw new IllegalArgumentException("--backend " + backend + ": this benchmark measures grpc; NCCL on device memory is"
                    + " measured by benchmarks/gpu/run.sh on a GPU host (README, GPUs and NCCL)");
        }
        long[] sizes = sizes(ByteSize.parse(minBytes), ByteSize.parse(maxBytes));
        int[] itersOf = Arrays.stream(sizes).mapToInt(s -> s > (64L << 20) ? Math.max(5, iters / 4) : iters).toArray();
        String peerMissing = "gloo".equals(compare) ? GlooPeer.unavailableReason() : "mpi".equals(compare) ? MpiPeer.unavailableReason() : null;
        if (peerMissing != null) {
            System.out.println("# --compare " + compare + " skipped: " + peerMissing);
        }
        boolean withGloo = "gloo".equals(compare) && peerMissing == null;
        boolean withMpi = "mpi".equals(compare) && peerMissing == null;
        boolean withRing = "ring".equals(compare);
        if (compare != null && tls) {
            throw new CommandLine.ParameterException(new CommandLine(this), "--tls and --compare: one comparison per run");
        }
        String other = withGloo ? "gloo" : withMpi ? "mpi" : withRing ? "ring" : tls ? "tls" : null;

        double[][] ours = new double[repeat][];
        double[][] theirs = new double[repeat][];
        try (SimulatedCluster cluster = link == null ? null : LinkOption.cluster(hostCount, link)) {
            List<String> tlsOptions = tls ? throwawayTls(cluster, hostCount).launchOptions() : List.of();
            for (int rep = 0; rep < repeat; rep++) {
                System.out.printf(Locale.ROOT, "# repeat %d/%d: trainyard...%n", rep + 1, repeat);
                ours[rep] = trainyardSweep(sizes, itersOf, perHost, Optional.ofNullable(cluster), List.of());
                if (withGloo) {
                    System.out.printf(Locale.ROOT, "# repeat %d/%d: gloo...%n", rep + 1, repeat);
                    theirs[rep] = GlooPeer.sweep(nproc, perHost, sizes, itersOf, warmup, Optional.ofNullable(cluster));
                } else if (withMpi) {
                    System.out.printf(Locale.ROOT, "# repeat %d/%d: open mpi...%n", rep + 1, repeat);
                    theirs[rep] = MpiPeer.sweep(nproc, sizes, itersOf, warmup);
                } else if (withRing) {
                    System.out.printf(Locale.ROOT, "# repeat %d/%d: trainyard, flat ring...%n", rep + 1, repeat);
                    theirs[rep] = trainyardSweep(sizes, itersOf, perHost, Optional.ofNullable(cluster), List.of("--all-reduce", "ring"));
                } else if (tls) {
                    System.out.printf(Locale.ROOT, "# repeat %d/%d: trainyard over mutual TLS...%n", rep + 1, repeat);
                    theirs[rep] = trainyardSweep(sizes, itersOf, perHost, Optional.ofNullable(cluster), tlsOptions);
                }
            }
        }
        double[] t = medianOverRepeats(ours);
        double[] g = other != null ? medianOverRepeats(theirs) : null;
        printTable(sizes, itersOf, t, g, other);
        if (json != null) {
            writeJson(sizes, itersOf, t, g, other);
            List<SvgChart.Series> series = new ArrayList<>(List.of(new SvgChart.Series(tls ? "Trainyard, plaintext" : "Trainyard",
                    busbws(sizes, t))));
            if (g != null) {
                series.add(new SvgChart.Series(tls ? "Trainyard, mutual TLS" : withRing ? "Trainyard, flat ring" : withMpi ? "Open MPI (shared memory)"
                        : "PyTorch Gloo", busbws(sizes, g)));
            }
            Path svg = SvgChart.beside(json);
            SvgChart.lines(svg, "All-reduce busbw, " + nproc + " ranks", "message size", "busbw (GB/s)",
                    Arrays.stream(sizes).asDoubleStream().toArray(), series);
            System.out.println("# wrote " + json + " and " + svg);
        }
        return 0;
    }

    static long[] sizes(long min, long max) {
        if (min < 4 || max < min) {
            throw new IllegalArgumentException("need 4 <= --min-bytes <= --max-bytes");
        }
        List<Long> out = new ArrayList<>();
        for (long s = min; s <= max; s *= 2) {
            out.add(s / 4 * 4);
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** A CA and one certificate for every rank's address (loopback, or each simulated host's). */
    static ThrowawayCertificates throwawayTls(SimulatedCluster cluster, int hosts) throws IOException, InterruptedException {
        List<String> addresses = new ArrayList<>(List.of("127.0.0.1"));
        for (int h = 0; cluster != null && h < hosts; h++) {
            addresses.add(cluster.address(h));
        }
        try {
            return ThrowawayCertificates.create(Files.createTempDirectory("trainyard-bench-tls-"), "bench", addresses);
        } catch (java.security.GeneralSecurityException e) {
            throw new IOException("cannot make throwaway TLS certificates: " + e.getMessage(), e);
        }
    }

    private double[] trainyardSweep(long[] sizes, int[] itersOf, int perHost, Optional<SimulatedCluster> cluster, List<String> launchOptions)
            throws IOException, InterruptedException {
        List<String> worker = List.of(AllReduceWorker.class.getName(), join(sizes), join(itersOf), Integer.toString(warmup),
                Long.toString(ByteSize.parse(chunkBytes)), Long.toString(ByteSize.parse(warmupBytes)), transport.name());
        List<String> lines = Launches.rank0Lines(nproc, perHost, worker, cluster, launchOptions);
        double[] medians = new double[sizes.length];
        int i = 0;
        for (String line : lines) {
            if (line.startsWith("ROW ")) {
                medians[i++] = Double.parseDouble(line.split(" ")[3]);
            }
        }
        if (i != sizes.length) {
            throw new IOException("rank 0 reported " + i + " of " + sizes.length + " sizes: " + lines);
        }
        return medians;
    }

    private static double[] medianOverRepeats(double[][] runs) {
        double[] out = new double[runs[0].length];
        for (int s = 0; s < out.length; s++) {
            double[] v = new double[runs.length];
            for (int r = 0; r < runs.length; r++) {
                v[r] = runs[r][s];
            }
            Arrays.sort(v);
            out[s] = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
        }
        return out;
    }

    private double[] busbws(long[] sizes, double[] seconds) {
        double[] out = new double[sizes.length];
        for (int i = 0; i < sizes.length; i++) {
            out[i] = busbw(sizes[i], seconds[i]);
        }
        return out;
    }

    private double busbw(long bytes, double seconds) {
        return bytes / seconds / 1e9 * 2.0 * (nproc - 1) / nproc;
    }

    /** What carries the sweep, as the communicator chooses it (see HostCommunicator.usesHostSegment). */
    /** Ranks on each simulated host: one each unless {@code --hosts} groups them. */
    private int perHost() {
        return hosts == null ? 1 : nproc / hosts;
    }

    private String algorithms() {
        int perHost = perHost();
        if (link != null && perHost > 1 && hosts > 1) {
            return "hierarchical all-reduce (" + hosts + " hosts x " + perHost + " ranks)";
        }
        boolean hostSegment = link == null && transport == Transport.SHARED_MEMORY
                && !"false".equals(System.getProperty("trainyard.hostAllReduce"));
        return hostSegment && nproc > 2 ? "host-wide shared segment" : "ring over " + transport;
    }

    /** @param other the comparison's name ({@code gloo}, {@code tls}), or null for none */
    private void printTable(long[] sizes, int[] itersOf, double[] t, double[] g, String other) {
        System.out.printf(Locale.ROOT, "# Trainyard all-reduce: %d ranks (one JVM each, %s), %s, float32 SUM,"
                + " chunk %s, median of per-call times, %d repeat(s), %d cores%n", nproc,
                link == null ? "loopback" : (hosts == null ? "one simulated host each" : "spread over " + hosts + " simulated hosts")
                        + ", links " + link, algorithms(), chunkBytes, repeat,
                Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%10s %11s %6s %11s %11s %11s", "size", "count", "iters", "time(us)", "algbw(GB/s)", "busbw(GB/s)");
        if (g != null) {
            System.out.printf(Locale.ROOT, " | %13s %11s %17s", other + " time(us)", other + " busbw",
                    other.equals("tls") ? "tls/plain busbw" : "busbw ratio (x)");
        }
        System.out.println();
        for (int s = 0; s < sizes.length; s++) {
            System.out.printf(Locale.ROOT, "%10s %11d %6d %11.1f %11.3f %11.3f", ByteSize.format(sizes[s]), sizes[s] / 4,
                    itersOf[s], t[s] * 1e6, sizes[s] / t[s] / 1e9, busbw(sizes[s], t[s]));
            if (g != null) {
                System.out.printf(Locale.ROOT, " | %13.1f %11.3f %17.2f", g[s] * 1e6, busbw(sizes[s], g[s]),
                        other.equals("tls") ? t[s] / g[s] : g[s] / t[s]);
            }
            System.out.println();
        }
    }

    private void writeJson(long[] sizes, int[] itersOf, double[] t, double[] g, String other) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "{\"benchmark\":\"allreduce\",\"nproc\":%d,\"backend\":\"grpc\",\"transport\":\"%s\",\"dtype\":\"float32\","
                        + "\"op\":\"sum\",\"chunk_bytes\":%d,\"repeats\":%d,\"cores\":%d,\"java\":\"%s\",\"link\":%s,\"hosts\":%d,\"algorithm\":\"%s\",\"rows\":[",
                nproc, transport, ByteSize.parse(chunkBytes), repeat, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                link == null ? "null" : "\"" + link + "\"", hosts == null ? (link == null ? 1 : nproc) : hosts, algorithms()));
        for (int s = 0; s < sizes.length; s++) {
            sb.append(s == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"bytes\":%d,\"iters\":%d,\"time_s\":%.9f,\"algbw_gbps\":%.4f,\"busbw_gbps\":%.4f",
                    sizes[s], itersOf[s], t[s], sizes[s] / t[s] / 1e9, busbw(sizes[s], t[s])));
            if (g != null) {
                // busbw_ratio: ours over gloo's; for tls, TLS's over plaintext's
                sb.append(String.format(Locale.ROOT, ",\"%s_time_s\":%.9f,\"%s_busbw_gbps\":%.4f,\"busbw_ratio\":%.4f",
                        other, g[s], other, busbw(sizes[s], g[s]), other.equals("tls") ? t[s] / g[s] : g[s] / t[s]));
            }
            sb.append('}');
        }
        sb.append("]}\n");
        if (json.getParent() != null) {
            Files.createDirectories(json.getParent());
        }
        Files.writeString(json, sb.toString(), StandardCharsets.UTF_8);
    }

    private static String join(long[] v) {
        return String.join(",", Arrays.stream(v).mapToObj(Long::toString).toList());
    }

    private static String join(int[] v) {
        return String.join(",", Arrays.stream(v).mapToObj(Integer::toString).toList());
    }
}
