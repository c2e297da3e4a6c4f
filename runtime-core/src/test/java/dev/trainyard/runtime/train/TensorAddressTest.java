package dev.trainyard.runtime.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract the NCCL path relies on, checked where it can be (a CPU tensor: same {@code data_ptr()}
 * code path): the address is the tensor's own storage, not a copy, and non-contiguous tensors are refused.
 */
class TensorAddressTest {

    @BeforeAll
    static void offline() {
        System.setProperty("ai.djl.offline", "true");
    }

    /** A JavaCPP view of raw memory, as the NCCL bindings see the address. */
    private static final class At extends Pointer {
        At(long address) {
            this.address = address;
        }
    }

    @Test
    void theAddressIsTheTensorsOwnStorage() {
        assertNull(TensorAddress.unavailableReason(), "DJL 0.36's PyTorchLibrary entry points are reachable");
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray a = m.arange(0f, 16f);
            long address = TensorAddress.of(a);
            assertEquals(new Pointer(a.toByteBuffer(true)).address(), address, "the same data_ptr() that DJL's zero-copy CPU view has");
            FloatPointer raw = new FloatPointer(new At(address)).capacity(16);
            assertEquals(5f, raw.get(5), "reads the tensor's values");
            raw.put(3, 42f);
            assertEquals(42f, a.getFloat(3), "a write through the address changes the tensor: no copy in between");

            NDArray slice = a.reshape(4, 4).get("1:3"); // rows 1..2: contiguous, offset by one row
            assertEquals(address + 4 * Float.BYTES, TensorAddress.of(slice), "a view starts at its own first element");
        }
    }

    @Test
    void aNonContiguousTensorIsRefused() {
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray t = m.arange(0f, 6f).reshape(new Shape(2, 3)).transpose();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorAddress.of(t));
            assertTrue(e.getMessage().contains("is not contiguous"), e.getMessage());
        }
    }
}
