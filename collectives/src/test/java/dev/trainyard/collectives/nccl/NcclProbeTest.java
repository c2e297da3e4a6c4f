package dev.trainyard.collectives.nccl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class NcclProbeTest {

    private static NcclAvailability probe(FakeGpu gpu) {
        return NcclProbe.probe(() -> gpu);
    }

    private static FakeGpu gpu() {
        return new FakeGpu(new FakeNcclWorld(1));
    }

    @Test
    void thisHostWithoutAnNvidiaDriverSaysSoAndNamesTheLibrary() {
        boolean driver = Files.exists(Path.of("/proc/driver/nvidia"));
        if (driver) {
            System.out.println("SKIPPED: this host has an NVIDIA driver; the no-GPU verdict is checked on CPU hosts (CI)");
        }
        assumeFalse(driver);
        NcclAvailability a = NcclProbe.local();
        System.out.println("NCCL probe on this host: " + a.reason());
        assertFalse(a.usable());
        assertTrue(a.reason().startsWith("the CUDA runtime bindings do not load (UnsatisfiedLinkError: "), a.reason());
        assertTrue(a.reason().contains("libcuda.so.1"), a.reason());
        assertTrue(a.reason().endsWith("a GPU host needs the NVIDIA driver (libcuda.so.1) and the CUDA 12 runtime on the library path"));
        assertEquals(a, NcclProbe.local(), "probed once and cached");
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
