package dev.trainyard.collectives.nccl;

/**
 * What {@link NcclProbe} found on this host.
 *
 * @param usable      every check passed
 * @param reason      why NCCL cannot be used (what is missing and what to do), or a summary when usable
 * @param deviceCount CUDA devices visible to this process (0 where unknown)
 * @param version     the loaded libnccl's version ("2.27.3"), or empty where it did not load
 */
public record NcclAvailability(boolean usable, String reason, int deviceCount, String version) {

    static NcclAvailability unusable(String reason, int deviceCount) {
        return new NcclAvailability(false, reason, deviceCount, "");
    }
}
