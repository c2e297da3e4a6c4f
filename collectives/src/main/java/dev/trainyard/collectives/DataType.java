package dev.trainyard.collectives;

/** Element types a collective can carry. FLOAT16/BFLOAT16 exist for compressed gradient traffic. */
public enum DataType {
    FLOAT32(4),
    FLOAT64(8),
    INT32(4),
    INT64(8),
    FLOAT16(2),
    BFLOAT16(2);

    private final int bytes;

    DataType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }
}
