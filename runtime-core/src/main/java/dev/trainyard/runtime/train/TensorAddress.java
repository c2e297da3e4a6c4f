package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import org.bytedeco.javacpp.Pointer;

/**
 * The address of a contiguous PyTorch tensor's data ({@code data_ptr()}), without copying: on a
 * CUDA tensor, the device pointer NCCL reduces in place. DJL 0.36 has no public API for it; its
 * package-private {@code PyTorchLibrary.torchDirectByteBuffer(handle)} wraps {@code data_ptr()}
 * in a direct buffer without a device check, whose address JavaCPP reads. This class is
 * the only place that knows that; Java never touches the bytes of a CUDA tensor through it.
 */
final class TensorAddress {
    private static final Access ACCESS = Access.resolve();

    private TensorAddress() {
    }

    /** The reflective entry points, or why they are missing (another DJL version). */
    private record Access(Object library, Method directBuffer, Method isContiguous, String missing) {
        static Access resolve() {
            try {
                Class<?> lib = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
                Field instance = lib.getDeclaredField("LIB");
                instance.setAccessible(true);
                Method buffer = lib.getDeclaredMethod("torchDirectByteBuffer", long.class);
                buffer.setAccessible(true);
                Method contiguous = lib.getDeclaredMethod("torchIsContiguous", long.class);
                contiguous.setAccessible(true);
                return new Access(instance.get(null), buffer, contiguous, null);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                return new Access(null, null, null, "DJL's PyTorchLibrary.torchDirectByteBuffer is not reachable (" + e
                        + "); this DJL version needs a new TensorAddress");
            }
        }
    }

    /** Null when addresses can be had; otherwise why not (callers then stage through host memory). */
    static String unavailableReason() {
        return ACCESS.missing();
    }

    /**
     * The address of {@code array}'s first element.
     *
     * @throws IllegalArgumentException if the tensor is not a contiguous PyTorch tensor
     * @throws IllegalStateException    if this DJL version offers no way to the address
     */
    static long of(NDArray array) {
        if (ACCESS.missing() != null) {
            throw new IllegalStateException(ACCESS.missing());
        }
        if (!(array instanceof PtNDArray pt)) {
            throw new IllegalArgumentException("not a PyTorch tensor: " + array.getClass().getName());
        }
        long handle = pt.getHandle();
        try {
            if (!(boolean) ACCESS.isContiguous().invoke(ACCESS.library(), handle)) {
                throw new IllegalArgumentException("tensor " + array.getShape() + " is not contiguous; reduce a contiguous copy");
            }
            ByteBuffer view = (ByteBuffer) ACCESS.directBuffer().invoke(ACCESS.library(), handle);
            return new Pointer(view).address();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read the tensor's data pointer: " + e.getCause(), e);
        }
    }
}
