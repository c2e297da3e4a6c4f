package dev.trainyard.collectives.nccl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Decides whether NCCL can run here, one step at a time so the answer names what is missing:
 * the NVIDIA driver is there at all, the CUDA bindings load (needs the driver and CUDA 12 runtime), a device is visible,
 * {@code libnccl.so.2} loads and is at least as new as the headers the bindings were compiled
 * against. The version check comes before any other NCCL call: an older library loads fine and
 * then kills the JVM on the first missing symbol.
 */
public final class NcclProbe {
    private static final String NEEDS_DRIVER = "a GPU host needs the NVIDIA driver (libcuda.so.1) and the CUDA 12 runtime on the library path";
    private static volatile NcclAvailability local;
    private static volatile GpuRuntime localRuntime;

    private NcclProbe() {
    }

    /**
     * What the NVIDIA kernel driver leaves on a host where it is loaded: its {@code /proc} entry (visible
     * in containers too), the control device, or WSL2's paravirtualized GPU device.
     */
    static final List<Path> DRIVER_TRACES = List.of(Path.of("/proc/driver/nvidia"), Path.of("/dev/nvidiactl"), Path.of("/dev/dxg"));

    /** Whether this host shows any trace of the NVIDIA driver (tests that need its absence skip where it is). */
    public static boolean driverPresent() {
        return DRIVER_TRACES.stream().anyMatch(Files::exists);
    }

    /** This process's verdict, probed once and cached (loading native libraries twice does not retry them). */
    public static synchronized NcclAvailability local() {
        if (local == null) {
            GpuRuntime[] loaded = new GpuRuntime[1];
            local = probe(DRIVER_TRACES, () -> loaded[0] = JavaCppGpuRuntime.loadCudaRuntime());
            localRuntime = local.usable() ? loaded[0] : null;
        }
        return local;
    }

    /**
     * As {@link #probe(Supplier)}, but a host without any trace of the NVIDIA driver is answered without
     * loading the CUDA bindings: extracting and failing to link them cost every CPU worker 0.1-0.25 s of
     * its start-up (measured on a 2-core machine, two workers starting at once).
     */
    static NcclAvailability probe(List<Path> driverTraces, Supplier<GpuRuntime> loader) {
        if (driverTraces.stream().noneMatch(Files::exists)) {
            return NcclAvailability.unusable("no NVIDIA driver on this host (none of " + driverTraces.stream().map(Path::toString)
                    .collect(Collectors.joining(", ")) + " exists); " + NEEDS_DRIVER, 0);
        }
        return probe(loader);
    }

    /** The real runtime, once {@link #local()} found it usable. */
    public static GpuRuntime localRuntime() {
        NcclAvailability a = local();
        if (!a.usable()) {
            throw new IllegalStateException("NCCL is not usable in this process: " + a.reason());
        }
        return localRuntime;
    }

    /** Runs the checks against the runtime {@code loader} provides; loader failures are part of the verdict. */
    public static NcclAvailability probe(Supplier<GpuRuntime> loader) {
        GpuRuntime gpu;
        try {
            gpu = loader.get();
        } catch (Throwable t) {
            return NcclAvailability.unusable("the CUDA runtime bindings do not load (" + rootMessage(t) + "); " + NEEDS_DRIVER, 0);
        }
        int devices;
        try {
            devices = gpu.deviceCount();
        } catch (Throwable t) {
            return NcclAvailability.unusable("no usable CUDA device: " + rootMessage(t), 0);
        }
        if (devices == 0) {
            String visible = System.getenv("CUDA_VISIBLE_DEVICES");
            return NcclAvailability.unusable("no CUDA device is visible to this process"
                    + (visible != null ? " (CUDA_VISIBLE_DEVICES=" + visible + ")" : ""), 0);
        }
        int version;
        try {
            version = gpu.ncclVersion();
        } catch (Throwable t) {
            return NcclAvailability.unusable("libnccl.so.2 does not load (" + rootMessage(t) + "); install NCCL "
                    + versionName(gpu.ncclHeaderVersion()) + " or newer for CUDA 12 (NVIDIA's libnccl2 package, or the "
                    + "nvidia-nccl-cu12 wheel with its lib directory on LD_LIBRARY_PATH)", devices);
        }
        int headers = gpu.ncclHeaderVersion();
        if (version < headers) {
            return NcclAvailability.unusable("libnccl.so.2 is NCCL " + versionName(version) + ", older than the "
                    + versionName(headers) + " these bindings were compiled against (an older library ends the JVM on a "
                    + "missing symbol); install NCCL " + versionName(headers) + " or newer", devices);
        }
        return new NcclAvailability(true, "NCCL " + versionName(version) + " with " + devices
                + (devices == 1 ? " CUDA device" : " CUDA devices"), devices, versionName(version));
    }

    /** "2.27.3" from NCCL's version code (X*10000+Y*100+Z since 2.9, X*1000+Y*100+Z before). */
    static String versionName(int code) {
        if (code >= 10000) {
            return code / 10000 + "." + code % 10000 / 100 + "." + code % 100;
        }
        return code / 1000 + "." + code % 1000 / 100 + "." + code % 100;
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return root.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }
}
