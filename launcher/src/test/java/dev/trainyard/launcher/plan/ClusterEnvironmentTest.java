package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;
import dev.trainyard.launcher.supervise.ExitStatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterEnvironmentTest {
    @TempDir
    Path tmp;

    @Test
    void firstHostOfSlurmNodeLists() {
        assertEquals("gpu03", SlurmNodeList.firstHost("gpu[03-06,09],cpu1"));
        assertEquals("node7", SlurmNodeList.firstHost("node7"));
        assertEquals("a", SlurmNodeList.firstHost("a,b,c"));
        assertEquals("rack1-n001", SlurmNodeList.firstHost("rack[1-2]-n[001-004]"));
        assertEquals("x10", SlurmNodeList.firstHost("x[10,2-3]"));
        assertThrows(UsageException.class, () -> SlurmNodeList.firstHost("gpu[03-06"));
    }

    @Test
    void slurmAndKubernetesAreDetected() {
        ClusterEnvironment slurm = ClusterEnvironment.detect(Map.of("SLURM_NNODES", "4", "SLURM_NODEID", "2",
                "SLURM_JOB_NODELIST", "gpu[01-04]"));
        assertEquals(Optional.of(4), slurm.nnodes());
        assertEquals(Optional.of(2), slurm.nodeRank());
        assertEquals(Optional.of("gpu01"), slurm.masterAddr());
        ClusterEnvironment k8s = ClusterEnvironment.detect(Map.of("JOB_COMPLETION_INDEX", "3"));
        assertEquals(Optional.of(3), k8s.nodeRank());
        assertEquals(Optional.empty(), k8s.nnodes());
        assertEquals("none", ClusterEnvironment.detect(Map.of()).scheduler());
        assertThrows(UsageException.class, () -> ClusterEnvironment.detect(Map.of("JOB_COMPLETION_INDEX", "x")));
    }

    @Test
    void gpusFromCudaVisibleDevicesOrTheDriver() throws Exception {
        Path none = tmp.resolve("absent");
        assertEquals(List.of("3", "5"), GpuInventory.detect(Map.of("CUDA_VISIBLE_DEVICES", "3, 5"), none).deviceIds());
        assertEquals(List.of(), GpuInventory.detect(Map.of("CUDA_VISIBLE_DEVICES", ""), none).deviceIds());
        assertEquals(List.of(), GpuInventory.detect(Map.of("CUDA_VISIBLE_DEVICES", "-1"), none).deviceIds());
        assertEquals(List.of(), GpuInventory.detect(Map.of(), none).deviceIds());
        Path driver = Files.createDirectories(tmp.resolve("gpus"));
        Files.createDirectories(driver.resolve("0000:3b:00.0"));
        Files.createDirectories(driver.resolve("0000:af:00.0"));
        assertEquals(List.of("0", "1"), GpuInventory.detect(Map.of(), driver).deviceIds());
    }

    @Test
    void exitStatusNamesSignals() {
        assertEquals("exit code 3", ExitStatus.describe(3));
        assertEquals("exit code 137 (killed by signal 9, SIGKILL)", ExitStatus.describe(137));
        assertEquals("exit code 134 (killed by signal 6, SIGABRT)", ExitStatus.describe(134));
    }
}
