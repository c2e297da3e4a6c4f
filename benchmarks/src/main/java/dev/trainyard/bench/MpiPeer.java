package dev.trainyard.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the same all-reduce sweep through Open MPI on this host, its shared-memory transport
 * forced ({@code --mca btl self,vader}): the figure a shared-memory data path can be held to.
 */
final class MpiPeer {
    private MpiPeer() {
    }

    /** Null if usable, else what is missing and how to install it. */
    static String unavailableReason() {
        try {
            Process p = new ProcessBuilder(PythonSweep.PYTHON, "-c", "import mpi4py, numpy").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return "mpi4py is not importable by " + PythonSweep.PYTHON + "; install it with: apt-get install python3-mpi4py";
            }
            Process m = new ProcessBuilder("mpirun", "--version").redirectErrorStream(true).start();
            m.getInputStream().readAllBytes();
            return m.waitFor(60, TimeUnit.SECONDS) && m.exitValue() == 0 ? null : "mpirun does not run; install it with: apt-get install openmpi-bin";
        } catch (IOException | InterruptedException e) {
            return "mpirun or " + PythonSweep.PYTHON + " cannot be run (" + e.getMessage() + "); install them with: apt-get install openmpi-bin python3-mpi4py";
        }
    }

    /** Median seconds per size, in the order of {@code sizes}: {@code nproc} ranks on this host. */
    static double[] sweep(int nproc, long[] sizes, int[] iters, int warmup) throws IOException, InterruptedException {
        Path script = PythonSweep.script("mpi_allreduce.py");
        List<String> cmd = new ArrayList<>(List.of("mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none",
                "--mca", "btl", "self,vader", "-np", Integer.toString(nproc), PythonSweep.PYTHON, script.toString(),
                "--sizes", PythonSweep.join(sizes), "--iters", PythonSweep.join(iters), "--warmup", Integer.toString(warmup)));
        try {
            return PythonSweep.medians(WorkerProcesses.run(1, r -> cmd, r -> Map.of(), Launches.TIMEOUT_S), sizes.length, "Open MPI");
        } finally {
            Files.deleteIfExists(script);
        }
    }
}
