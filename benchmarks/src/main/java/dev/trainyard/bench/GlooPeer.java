package dev.trainyard.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import dev.trainyard.testbed.SimulatedCluster;

/** Runs the same all-reduce sweep through PyTorch's Gloo (Debian's python3-torch) for a side-by-side figure. */
final class GlooPeer {
    static final String PYTHON = PythonSweep.PYTHON;

    private GlooPeer() {
    }

    /** Null if usable, else what is missing and how to install it. */
    static String unavailableReason() {
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch.distributed as d; assert d.is_gloo_available()")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return null;
            }
            return "PyTorch with Gloo is not importable by " + PYTHON + "; install it with: apt-get install python3-torch";
        } catch (IOException | InterruptedException e) {
            return PYTHON + " cannot be run (" + e.getMessage() + "); install it with: apt-get install python3-torch";
        }
    }

    /** Median seconds per size, in the order of {@code sizes}; with a cluster, {@code perHost} Python processes per simulated host. */
    static double[] sweep(int nproc, int perHost, long[] sizes, int[] iters, int warmup, Optional<SimulatedCluster> cluster)
            throws IOException, InterruptedException {
        Path script = PythonSweep.script("gloo_allreduce.py");
        int port = Launches.freePort();
        List<String> cmd = new ArrayList<>(List.of(PYTHON, script.toString(), "--nproc", Integer.toString(nproc),
                "--sizes", PythonSweep.join(sizes), "--iters", PythonSweep.join(iters), "--warmup", Integer.toString(warmup),
                "--port", Integer.toString(port)));
        try {
            List<String> out = cluster.isEmpty()
                    ? WorkerProcesses.run(1, r -> cmd, r -> Map.of(), Launches.TIMEOUT_S)
                    : WorkerProcesses.run(nproc, r -> {
                        List<String> c = new ArrayList<>(cluster.get().exec(r / perHost));
                        c.addAll(cmd);
                        c.addAll(List.of("--rank", Integer.toString(r)));
                        return c;
                    }, r -> Map.of("MASTER_ADDR", cluster.get().address(0), "GLOO_SOCKET_IFNAME", cluster.get().device(r / perHost)),
                    Launches.TIMEOUT_S);
            return PythonSweep.medians(out, sizes.length, "Gloo");
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
