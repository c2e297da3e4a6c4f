package dev.trainyard.bench.gpu;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.nccl.GpuRuntime;
import dev.trainyard.collectives.nccl.NcclAvailability;
import dev.trainyard.collectives.nccl.NcclCommunicator;
import dev.trainyard.collectives.nccl.NcclProbe;
import dev.trainyard.collectives.store.InMemoryStore;
import dev.trainyard.runtime.ProcessGroup;
import dev.trainyard.runtime.Trainyard;
import dev.trainyard.runtime.WorkerContext;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The NCCL path checked and timed on a GPU host (benchmarks/gpu/run.sh): the probe, communicator
 * initialisation, every collective on real device buffers (and through the staged host path)
 * compared with the values computed on the CPU, and an all-reduce busbw sweep on device memory.
 * Alone it is one rank on GPU 0; under {@code trainyard launch --backend nccl} every rank runs it.
 *
 * <p>Usage: {@code NcclCheck OUT.json [MAX_BYTES]}. Exit 0 when every check passed, 1 otherwise.
 */
public final class NcclCheck {
    private final List<String> checks = new ArrayList<>();
    private final List<String> sweep = new ArrayList<>();
    private boolean allPassed = true;

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: NcclCheck OUT.json [MAX_BYTES]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        long maxBytes = args.length > 1 ? Long.parseLong(args[1]) : 1L << 30;
        NcclAvailability probe = NcclProbe.local();
        System.out.println("probe: " + probe.reason());
        if (!probe.usable()) {
            Files.writeString(out, "{\"usable\":false,\"reason\":" + quote(probe.reason()) + "}\n");
            System.exit(1);
        }
        NcclCheck check = new NcclCheck();
        long t0 = System.nanoTime();
        boolean underLauncher = !WorkerContext.current().standalone();
        ProcessGroup pg = underLauncher ? Trainyard.init() : null;
        Communicator comm = underLauncher ? pg.communicator()
                : NcclCommunicator.connect(new InMemoryStore(Duration.ofMinutes(1)), 0, 1, 0, Duration.ofMinutes(1),
                        Duration.ofMinutes(1), NcclProbe.localRuntime());
        double initSeconds = (System.nanoTime() - t0) / 1e9;
        if (!(comm instanceof DeviceCollectives device)) {
            throw new IllegalStateException("the job did not choose NCCL (" + comm.getClass().getSimpleName()
                    + "); launch with --backend nccl");
        }
        GpuRuntime gpu = NcclProbe.localRuntime();
        check.collectives(comm, device, gpu);
        check.sweep(comm, device, gpu, maxBytes);
        if (comm.rank() == 0) {
            Files.writeString(out, check.json(probe, comm.size(), initSeconds));
            System.out.println("results written to " + out);
        }
        if (pg != null) {
            pg.close();
        } else {
            comm.close();
        }
        System.exit(check.allPassed ? 0 : 1);
    }

    /** Rank r's input: distinct per rank and element, exact in float32. */
    private static float input(int rank, long j) {
        return (rank + 1) * 0.5f + (j % 1000);
    }

    private void collectives(Communicator comm, DeviceCollectives device, GpuRuntime gpu) {
        int n = comm.size();
        int r = comm.rank();
        int count = 1 << 20;
        ByteBuffer host = ByteBuffer.allocateDirect(count * 4).order(ByteOrder.nativeOrder());
        long ptr = gpu.malloc(count * 4L);
        try {
            for (ReduceOp op : List.of(ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX)) {
                fill(host, r, count);
                gpu.copyToDevice(ptr, host, count * 4L, GpuRuntime.COMPUTE_STREAM); // the compute stream: NCCL must wait for it
                device.allReduceAsync(ptr, count, DataType.FLOAT32, op).await();
                gpu.copyToHost(host.clear(), ptr, count * 4L);
                record("device all-reduce " + op, host, count, j -> reduced(op, n, j));
            }
            fill(host, r, count);
            gpu.copyToDevice(ptr, host, count * 4L, GpuRuntime.COMPUTE_STREAM);
            device.broadcastAsync(ptr, count, DataType.FLOAT32, n - 1).await();
            gpu.copyToHost(host.clear(), ptr, count * 4L);
            record("device broadcast from rank " + (n - 1), host, count, j -> input(n - 1, j));
        } finally {
            gpu.free(ptr);
        }
        fill(host, r, count);
        comm.allReduce(host.clear(), DataType.FLOAT32, ReduceOp.SUM);
        record("staged all-reduce SUM", host, count, j -> reduced(ReduceOp.SUM, n, j));
        int block = 4096;
        ByteBuffer in = ByteBuffer.allocateDirect(block * 4).order(ByteOrder.nativeOrder());
        ByteBuffer gathered = ByteBuffer.allocateDirect(block * 4 * n).order(ByteOrder.nativeOrder());
        fill(in, r, block);
        comm.allGather(in.clear(), gathered, DataType.FLOAT32);
        record("staged all-gather", gathered, (long) block * n, j -> input((int) (j / block), j % block));
        ByteBuffer full = ByteBuffer.allocateDirect(block * 4 * n).order(ByteOrder.nativeOrder());
        ByteBuffer mine = ByteBuffer.allocateDirect(block * 4).order(ByteOrder.nativeOrder());
        fill(full, r, (long) block * n);
        comm.reduceScatter(full.clear(), mine, DataType.FLOAT32, ReduceOp.SUM);
        record("staged reduce-scatter SUM", mine, block, j -> reduced(ReduceOp.SUM, n, (long) r * block + j));
        comm.barrier();
        checks.add("{\"name\":\"barrier\",\"passed\":true}");
    }

    private static float reduced(ReduceOp op, int n, long j) {
        float acc = op == ReduceOp.MAX ? Float.NEGATIVE_INFINITY : 0;
        for (int p = 0; p < n; p++) {
            acc = op == ReduceOp.MAX ? Math.max(acc, input(p, j)) : acc + input(p, j);
        }
        return op == ReduceOp.AVG ? acc / n : acc;
    }

    private static void fill(ByteBuffer b, int rank, long count) {
        for (long j = 0; j < count; j++) {
            b.putFloat((int) (j * 4), input(rank, j));
        }
    }

    private interface Expected {
        float at(long j);
    }

    private void record(String name, ByteBuffer got, long count, Expected expected) {
        double maxError = 0;
        for (long j = 0; j < count; j++) {
            maxError = Math.max(maxError, Math.abs(got.getFloat((int) (j * 4)) - expected.at(j)));
        }
        boolean passed = maxError <= 1e-3;
        allPassed &= passed;
        System.out.printf(Locale.ROOT, "%-32s %s (max error %.3g over %d elements)%n", name, passed ? "PASSED" : "FAILED", maxError, count);
        checks.add(String.format(Locale.ROOT, "{\"name\":%s,\"passed\":%b,\"max_error\":%.6g,\"elements\":%d}",
                quote(name), passed, maxError, count));
    }

    /** nccl-tests' all_reduce_perf on device memory: back-to-back iterations, busbw = bytes / t x 2(n-1)/n. */
    private void sweep(Communicator comm, DeviceCollectives device, GpuRuntime gpu, long maxBytes) {
        int n = comm.size();
        long ptr = gpu.malloc(maxBytes);
        try {
            System.out.printf(Locale.ROOT, "%12s %8s %12s %12s %12s%n", "bytes", "iters", "time(us)", "algbw(GB/s)", "busbw(GB/s)");
            for (long bytes = 4096; bytes <= maxBytes; bytes *= 4) {
                long count = bytes / 4;
                int iters = (int) Math.max(5, Math.min(200, (1L << 32) / bytes));
                for (int w = 0; w < 5; w++) {
                    device.allReduceAsync(ptr, count, DataType.FLOAT32, ReduceOp.SUM).await();
                }
                comm.barrier();
                long t0 = System.nanoTime();
                Work last = null;
                for (int i = 0; i < iters; i++) {
                    last = device.allReduceAsync(ptr, count, DataType.FLOAT32, ReduceOp.SUM);
                }
                last.await();
                double t = (System.nanoTime() - t0) / 1e9 / iters;
                double algbw = bytes / t / 1e9;
                double busbw = algbw * 2 * (n - 1) / n;
                System.out.printf(Locale.ROOT, "%12d %8d %12.1f %12.3f %12.3f%n", bytes, iters, t * 1e6, algbw, busbw);
                sweep.add(String.format(Locale.ROOT, "{\"bytes\":%d,\"iters\":%d,\"time_s\":%.9f,\"algbw_gbps\":%.4f,\"busbw_gbps\":%.4f}",
                        bytes, iters, t, algbw, busbw));
            }
        } finally {
            gpu.free(ptr);
        }
    }

    private String json(NcclAvailability probe, int ranks, double initSeconds) {
        return String.format(Locale.ROOT, "{\"usable\":true,\"probe\":%s,\"nccl_version\":%s,\"ranks\":%d,\"init_s\":%.3f,"
                        + "\"all_passed\":%b,\"checks\":[%s],\"allreduce_sweep\":[%s]}%n",
                quote(probe.reason()), quote(probe.version()), ranks, initSeconds, allPassed, String.join(",", checks),
                String.join(",", sweep));
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }
}
