package dev.trainyard.launcher.plan;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * The GPUs this node may use, found without loading CUDA: the launcher's own
 * {@code CUDA_VISIBLE_DEVICES} when set (a scheduler's allocation), else one entry per device
 * the NVIDIA driver lists under {@code /proc/driver/nvidia/gpus}.
 */
public record GpuInventory(List<String> deviceIds) {

    public static GpuInventory detect(Map<String, String> env, Path driverDir) {
        String visible = env.get("CUDA_VISIBLE_DEVICES");
        if (visible != null) {
            String v = visible.strip();
            // CUDA's own conventions for "no device": empty, or an invalid first entry such as -1
            if (v.isEmpty() || v.startsWith("-") || v.equalsIgnoreCase("NoDevFiles")) {
                return new GpuInventory(List.of());
            }
            return new GpuInventory(Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList());
        }
        if (!Files.isDirectory(driverDir)) {
            return new GpuInventory(List.of());
        }
        try (Stream<Path> gpus = Files.list(driverDir)) {
            int n = (int) gpus.count();
            return new GpuInventory(IntStream.range(0, n).mapToObj(Integer::toString).toList());
        } catch (IOException e) {
            return new GpuInventory(List.of());
        }
    }

    public static GpuInventory detect() {
        return detect(System.getenv(), Path.of("/proc/driver/nvidia/gpus"));
    }

    public int count() {
        return deviceIds.size();
    }
}
