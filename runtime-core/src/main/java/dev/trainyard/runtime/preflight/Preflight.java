package dev.trainyard.runtime.preflight;

import ai.djl.engine.Engine;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.nccl.NcclProbe;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreAllGather;
import dev.trainyard.runtime.Backend;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.RunEvents;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.WorkerContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Catches scrap before it burns a cluster: on every rank, checks the Java version, that DJL's
 * engine loads offline, the backend, that all ranks reach each other, a small all-reduce with a
 * checked result, the bandwidth of every ring link, free disk in the run directory and the
 * dataset. Rank 0 gathers every rank's results through the store and prints one table.
 * Runs in the worker JVM itself, so it tests exactly the classpath, natives and network the
 * training will use, and costs one JVM start less than a separate job.
 */
public final class Preflight {
    /** Exit status of a worker whose preflight failed (sysexits' EX_CONFIG). */
    public static final int FAILED = 78;
    private static final int CHECK_FLOATS = 1 << 20;

    private final WorkerContext ctx;
    private final String mainClass;
    private final List<String> args;
    private final long minFreeDiskBytes;
    private final boolean measureLinks;
    private final boolean handOver;
    private final List<CheckResult> results = new ArrayList<>();

    /**
     * @param measureLinks also time an all-reduce on every ring link (the full checks; the quick ones leave it out)
     * @param handOver     a job follows: when every check passes, its group is the one the job's
     *                     {@code Trainyard.init} gets ({@link Trainyard#handOver})
     */
    public Preflight(WorkerContext ctx, String mainClass, List<String> args, long minFreeDiskBytes, boolean measureLinks, boolean handOver) {
        this.ctx = ctx;
        this.mainClass = mainClass;
        this.args = args;
        this.minFreeDiskBytes = minFreeDiskBytes;
        this.measureLinks = measureLinks;
        this.handOver = handOver;
    }

    /** Runs every check; rank 0 prints the table. True if every check passed on every rank this rank knows of. */
    public boolean run(PrintStream out) {
        long t0 = System.nanoTime();
        results.add(javaVersion());
        results.add(engine());
        results.add(backend());
        results.add(disk());
        results.add(dataset());
        long joinStart = System.nanoTime();
        ProcessGroup pg;
        try {
            pg = Trainyard.init(ctx); // the job's own group: handed over to the job if every check passes
        } catch (RuntimeException e) {
            return peersFailed(e, out);
        }
        boolean passed = false;
        try {
            results.add(CheckResult.ok("peers", "all " + pg.worldSize() + " ranks joined in " + seconds(joinStart)));
            results.add(allReduce(pg.communicator(), pg.worldSize()));
            if (measureLinks) {
                results.addAll(links(pg));
            } else if (pg.worldSize() > 1) {
                // a connection and a timed all-reduce per link: most of what the full checks add to the start-up
                results.add(new CheckResult("links", CheckResult.Status.SKIP, "not measured in the quick checks;"
                        + " 'launch --preflight full' or 'trainyard preflight' time every ring link"));
            }
            passed = gather(pg.store().prefixed("preflight/"), pg.rank(), pg.worldSize(), out, seconds(t0));
            return passed;
        } catch (RuntimeException e) {
            return peersFailed(e, out);
        } finally {
            if (passed && handOver) {
                Trainyard.handOver(pg);
            } else {
                pg.close();
            }
        }
    }

    /** Without the group there is no table: this rank prints its own rows. */
    private boolean peersFailed(RuntimeException e, PrintStream out) {
        results.add(CheckResult.fail("peers", e.getMessage()));
        out.println("preflight failed on rank " + ctx.rank() + ":");
        results.forEach(r -> out.println("  " + row(r.check(), r.status(), r.detail())));
        return false;
    }

    private static CheckResult javaVersion() {
        Runtime.Version v = Runtime.version();
        String detail = "Java " + v + " (" + System.getProperty("java.vendor") + ")";
        return v.feature() >= 17 ? CheckResult.ok("java", detail) : CheckResult.fail("java", detail + "; Trainyard needs Java 17 or later");
    }

    private static CheckResult engine() {
        long t0 = System.nanoTime();
        try {
            Engine e = Engine.getEngine("PyTorch");
            RunEvents.span("engine_load", t0, System.nanoTime());
            return CheckResult.ok("engine", "DJL " + e.getEngineName() + " " + e.getVersion() + " loaded"
                    + ("true".equals(System.getProperty("ai.djl.offline")) ? " offline" : "") + " in " + seconds(t0));
        } catch (Throwable t) { // a missing native library surfaces as an Error
            return CheckResult.fail("engine", "DJL's PyTorch engine does not load: " + t
                    + "; put pytorch-native-cpu (or your CUDA natives) on the classpath; nothing is downloaded at run time");
        }
    }

    private CheckResult backend() {
        NcclAvailability nccl = NcclProbe.local();
        String grpc = "gRPC fallback: " + (ctx.security().encrypted() ? "gRPC streams over mutual TLS" : "raw TCP data plane, gRPC control");
        if (ctx.backend() == Backend.NCCL && !nccl.usable()) {
            return CheckResult.fail("backend", "nccl requested, but NCCL cannot be used here: " + nccl.reason());
        }
        return CheckResult.ok("backend", ctx.backend().cliName() + "; " + (nccl.usable() ? nccl.reason() : "NCCL unusable: "
                + nccl.reason()) + "; " + grpc);
    }

    private CheckResult disk() {
        Path dir = ctx.runDir();
        try {
            Files.createDirectories(dir);
            long free = Files.getFileStore(dir).getUsableSpace();
            String detail = gib(free) + " free in " + dir + " (need " + gib(minFreeDiskBytes) + ")";
            return free >= minFreeDiskBytes ? CheckResult.ok("disk", detail)
                    : CheckResult.fail("disk", detail + "; free space there or choose another --run-dir");
        } catch (IOException e) {
            return CheckResult.fail("disk", "cannot use the run directory " + dir + ": " + e.getMessage());
        }
    }

    private CheckResult dataset() {
        for (DatasetCheck check : ServiceLoader.load(DatasetCheck.class)) {
            try {
                Optional<String> found = check.check(mainClass, args);
                if (found.isPresent()) {
                    return CheckResult.ok("dataset", found.get());
                }
            } catch (Exception e) {
                return CheckResult.fail("dataset", e.getMessage());
            }
        }
        return new CheckResult("dataset", CheckResult.Status.SKIP, "no dataset check for " + mainClass
                + " (register a " + DatasetCheck.class.getName() + ")");
    }

    /** Every rank contributes rank+1 at element i+rank; the sum is known exactly. */
    private static CheckResult allReduce(Communicator comm, int size) {
        float[] v = new float[CHECK_FLOATS];
        int rank = comm.rank();
        for (int i = 0; i < v.length; i++) {
            v[i] = (i + rank) % 5 + rank + 1;
        }
        long t0 = System.nanoTime();
        comm.allReduce(v, ReduceOp.SUM);
        String took = seconds(t0);
        for (int i = 0; i < v.length; i++) {
            float expected = 0;
            for (int r = 0; r < size; r++) {
                expected += (i + r) % 5 + r + 1;
            }
            if (v[i] != expected) {
                return CheckResult.fail("all-reduce", "element " + i + " is " + v[i] + ", expected " + expected
                        + ": the data plane corrupts data (check NIC offloads, MTU, or a proxy in the path)");
            }
        }
        return CheckResult.ok("all-reduce", CHECK_FLOATS + " floats summed over " + size + " ranks, result exact, " + took);
    }

    private List<CheckResult> links(ProcessGroup pg) {
        CommunicatorOptions options = ctx.communicatorOptions();
        List<CheckResult> rows = new ArrayList<>();
        String lineRate = LineRate.of(ctx.bindHost());
        for (LinkProbe.Link l : LinkProbe.run(pg.store(), pg.rank(), pg.worldSize(), options)) {
            if (l.from() == pg.rank()) {
                RunEvents.metric("preflight_link_GBps", l.gbPerSecond()); // what the run report compares training's busbw with
                rows.add(CheckResult.ok("link " + l.from() + "-" + l.to(), String.format("%.2f GB/s both ways (%d MiB all-reduce); %s",
                        l.gbPerSecond(), LinkProbe.BYTES >> 20, lineRate)));
            }
        }
        return rows;
    }

    /**
     * Rank 0 prints the table and publishes the verdict; the others wait for it, so nobody exits
     * (and gets the job torn down) before the table is out.
     */
    private boolean gather(Store store, int rank, int size, PrintStream out, String took) {
        StringBuilder mine = new StringBuilder();
        results.forEach(r -> mine.append(r.encode()).append('\n'));
        // one wait for every rank's rows: a rank that never reports is named with all the others missing
        List<String> everyRank = StoreAllGather.allGather(store, "result/", rank, size, mine.toString(), ctx.rendezvousTimeout());
        if (rank != 0) {
            results.stream().filter(r -> r.status() == CheckResult.Status.FAIL)
                    .forEach(r -> out.println("preflight check failed on rank " + rank + ": " + row(r.check(), r.status(), r.detail())));
            return store.getString("verdict", ctx.rendezvousTimeout()).equals("passed");
        }
        List<List<CheckResult>> all = new ArrayList<>();
        for (String text : everyRank) {
            all.add(Arrays.stream(text.split("\n")).filter(s -> !s.isEmpty()).map(CheckResult::decode).toList());
        }
        PreflightTable table = PreflightTable.of(all);
        out.println("preflight: " + size + " rank(s), " + took + (table.passed() ? ", all checks passed" : ", FAILED"));
        table.rows().forEach(r -> out.println("  " + row(r.check(), r.status(), r.detail())));
        out.flush();
        store.setString("verdict", table.passed() ? "passed" : "failed");
        return table.passed();
    }

    static String row(String check, CheckResult.Status status, String detail) {
        return String.format("%-11s %-4s %s", check, status, detail);
    }

    private static String seconds(long startNanos) {
        return String.format("%.2f s", (System.nanoTime() - startNanos) / 1e9);
    }

    private static String gib(long bytes) {
        return String.format("%.1f GiB", bytes / (double) (1L << 30));
    }
}
