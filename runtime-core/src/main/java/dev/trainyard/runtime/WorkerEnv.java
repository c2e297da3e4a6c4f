package dev.trainyard.runtime;

import java.util.Map;

/**
 * Names of the environment variables through which the launcher hands a worker its place in
 * the job. The torchrun-compatible names come first; the rest are Trainyard's own.
 */
public final class WorkerEnv {
    static final String RANK = "RANK";
    static final String LOCAL_RANK = "LOCAL_RANK";
    static final String WORLD_SIZE = "WORLD_SIZE";
    static final String LOCAL_WORLD_SIZE = "LOCAL_WORLD_SIZE";
    static final String NODE_RANK = "NODE_RANK";
    static final String MASTER_ADDR = "MASTER_ADDR";
    static final String MASTER_PORT = "MASTER_PORT";
    static final String CUDA_VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES";

    static final String RESTART_COUNT = "TRAINYARD_RESTART_COUNT";
    /** The job token; only ever passed through the environment, never on a command line. */
    static final String TOKEN = "TRAINYARD_TOKEN";
    /** Address this worker's data plane listens on and advertises to its peers. */
    static final String BIND = "TRAINYARD_BIND";
    static final String RUN_DIR = "TRAINYARD_RUN_DIR";
    static final String BACKEND = "TRAINYARD_BACKEND";
    /** How long rendezvous waits (store and peer connection), e.g. {@code 5m}. */
    static final String RENDEZVOUS_TIMEOUT = "TRAINYARD_RENDEZVOUS_TIMEOUT";
    /** Per-collective timeout, e.g. {@code 5m}. */
    static final String COLLECTIVE_TIMEOUT = "TRAINYARD_COLLECTIVE_TIMEOUT";
    /** Store key prefix of this rendezvous generation, so a restarted group never sees stale keys. */
    static final String STORE_PREFIX = "TRAINYARD_STORE_PREFIX";
    /** PEM certificate, PKCS#8 key and CA of mutual TLS between nodes (all three, or none for plaintext). */
    static final String TLS_CERT = "TRAINYARD_TLS_CERT";
    static final String TLS_KEY = "TRAINYARD_TLS_KEY";
    static final String TLS_CA = "TRAINYARD_TLS_CA";
    /** {@code first}: run preflight before the user's main; {@code only}: run it and exit; absent or {@code off}: skip it. */
    static final String PREFLIGHT = "TRAINYARD_PREFLIGHT";
    /** Free bytes preflight requires in the run directory. */
    static final String MIN_FREE_DISK = "TRAINYARD_MIN_FREE_DISK";
    /** Which steps the timeline records: off, full or every:K ({@link Tracing}). */
    static final String TRACE = "TRAINYARD_TRACE";
    /** What carries tensor frames between CPU workers ({@code shared-memory}, {@code tcp}, {@code grpc-stream}). */
    static final String TRANSPORT = "TRAINYARD_TRANSPORT";
    /** auto, ring or hierarchical: how the host communicator all-reduces across hosts. */
    static final String ALL_REDUCE = "TRAINYARD_ALL_REDUCE";
    /** Pid of the launcher; the worker exits on its own when that process is gone. */
    static final String LAUNCHER_PID = "TRAINYARD_LAUNCHER_PID";

    /**
     * glibc malloc settings the launcher gives workers unless the user set them. libtorch allocates
     * and frees tensors of hundreds of KiB every step; above glibc's mmap threshold each one is a
     * fresh mmap whose pages fault in and get zeroed again (measured: over a quarter of a worker's
     * CPU in the kernel). Fixed thresholds keep such blocks in the heap for reuse. 32 MiB is the
     * most glibc accepts for the threshold: bigger tensors (a 4096x4096 layer's gradient is 64 MiB)
     * are still mmapped every step, so glibc is also told to back its mmapped chunks with
     * transparent huge pages ({@code glibc.malloc.hugetlb=1}, glibc 2.35 and later; ignored
     * elsewhere and where THP is off): 2 MiB pages fault 512 times less often (measured with the
     * 20 M-parameter MLP, one worker: backward 322 ms per step without, 84 ms with).
     */
    public static final Map<String, String> MALLOC_DEFAULTS = Map.of(
            "MALLOC_MMAP_THRESHOLD_", Integer.toString(32 << 20),
            "MALLOC_TRIM_THRESHOLD_", Integer.toString(128 << 20),
            "GLIBC_TUNABLES", "glibc.malloc.hugetlb=1");

    private WorkerEnv() {
    }
}
