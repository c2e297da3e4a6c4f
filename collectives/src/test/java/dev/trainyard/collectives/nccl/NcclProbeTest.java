package dev.trainyard.collectives.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NcclProbeTest {

    private static NcclAvailability probe(FakeGpu gpu) {
        return NcclProbe.probe(() -> gpu);
    }

    private static FakeGpu gpu() {
        return new FakeGpu(new FakeNcclWorld(1));
    }

    @Test
    void thisHostWithoutAnNvidiaDriverSaysSoWithoutLoadingTheBindings() {
        boolean driver = NcclProbe.driverPresent();
        if (driver) {
            System.out.println("SKIPPED: this host has an NVIDIA driver; the no-GPU verdict is checked on CPU hosts (CI)");
        }
        assumeFalse(driver);
        long t0 = System.nanoTime();
        NcclAvailability a = NcclProbe.local();
        System.out.printf("NCCL probe on this host (%.1f ms): %s%n", (System.nanoTime() - t0) / 1e6, a.reason());
        assertFalse(a.usable());
        assertEquals("no NVIDIA driver on this host (none of /proc/driver/nvidia, /dev/nvidiactl, /dev/dxg exists); a GPU host needs"
                + " the NVIDIA driver (libcuda.so.1) and the CUDA 12 runtime on the library path", a.reason());
        assertEquals(a, NcclProbe.local(), "probed once and cached");
    }

    @Test
    void theBindingsLoadOnlyWhereTheDriverLeftATrace(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("nvidiactl");
        int[] loads = {0};
        Supplier<GpuRuntime> loader = () -> {
            loads[0]++;
            throw new UnsatisfiedLinkError("libjnicudart.so: libcuda.so.1: cannot open shared object file");
        };
        NcclAvailability none = NcclProbe.probe(List.of(trace), loader);
        assertEquals(0, loads[0], "no trace of the driver: the bindings are not loaded");
        assertTrue(none.reason().startsWith("no NVIDIA driver on this host (none of " + trace + " exists)"), none.reason());
        Files.createFile(trace);
        NcclAvailability broken = NcclProbe.probe(List.of(trace), loader);
        assertEquals(1, loads[0], "a trace of the driver: the bindings are loaded and their failure reported");
        assertTrue(broken.reason().startsWith("the CUDA runtime bindings do not load (UnsatisfiedLinkError: libjnicudart.so: libcuda.so.1"),
                broken.reason());
    }

    @Test
    void everyMissingPieceIsNamed() {
        Supplier<GpuRuntime> noDriver = () -> {
            throw new UnsatisfiedLinkError("libjnicudart.so: libcuda.so.1: cannot open shared object file");
        };
        assertTrue(NcclProbe.probe(noDriver).reason().contains("(UnsatisfiedLinkError: libjnicudart.so: libcuda.so.1: cannot open"));

        FakeGpu noDevice = gpu();
        noDevice.deviceCount = 0;
        assertTrue(probe(noDevice).reason().startsWith("no CUDA device is visible to this process"), probe(noDevice).reason());

        FakeGpu noLibrary = new FakeGpu(new FakeNcclWorld(1)) {
            @Override
            public int ncclVersion() {
                throw new UnsatisfiedLinkError("libnccl.so.2: cannot open shared object file: No such file or directory");
            }
        };
        NcclAvailability a = probe(noLibrary);
        assertFalse(a.usable());
        assertTrue(a.reason().startsWith("libnccl.so.2 does not load (UnsatisfiedLinkError: libnccl.so.2: cannot open shared"
                + " object file: No such file or directory); install NCCL 2.27.3 or newer for CUDA 12"), a.reason());

        FakeGpu old = gpu();
        old.ncclVersion = 21803;
        assertTrue(probe(old).reason().startsWith("libnccl.so.2 is NCCL 2.18.3, older than the 2.27.3 these bindings were"
                + " compiled against"), probe(old).reason());

        FakeGpu good = gpu();
        good.deviceCount = 2;
        good.ncclVersion = 22809;
        NcclAvailability ok = probe(good);
        assertTrue(ok.usable());
        assertEquals("NCCL 2.28.9 with 2 CUDA devices", ok.reason());
        assertEquals("2.28.9", ok.version());
    }

    @Test
    void aDeviceQueryErrorIsReported() {
        FakeGpu broken = new FakeGpu(new FakeNcclWorld(1)) {
            @Override
            public int deviceCount() {
                throw new GpuCallException("cudaGetDeviceCount", 35, "CUDA driver version is insufficient for CUDA runtime version");
            }
        };
        assertEquals("no usable CUDA device: GpuCallException: cudaGetDeviceCount failed: CUDA driver version is insufficient"
                + " for CUDA runtime version (code 35)", probe(broken).reason());
    }

    @Test
    void versionCodesOfBothSchemes() {
        assertEquals("2.27.3", NcclProbe.versionName(22703));
        assertEquals("2.8.4", NcclProbe.versionName(2804));
    }
}
