package dev.trainyard.collectives.nccl;

/** A CUDA runtime or NCCL call returned an error code (they never throw on their own). */
public final class GpuCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;

    public GpuCallException(String call, int code, String description) {
        super(call + " failed: " + description + " (code " + code + ")");
        this.code = code;
    }

    public int code() {
        return code;
    }
}
