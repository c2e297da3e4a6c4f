package dev.trainyard.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.nio.ByteBuffer;
import java.util.function.Consumer;

/**
 * A tensor's bytes as a native-order direct host buffer, for checkpoints, broadcasts and digests.
 * On CPU that is the tensor's own memory ({@code toByteBuffer(true)} is zero-copy there), so writes
 * land in place. Elsewhere (GPU) it is a host copy in a tensor we own and close — DJL's
 * {@code toByteBuffer} would copy into a sub-manager that is never freed — and
 * {@link #update} writes the copy back.
 */
final class ParameterBytes {
    /** Every element: for writing a whole tensor. */
    static final NDIndex ALL = new NDIndex("...");

    private ParameterBytes() {
    }

    /**
     * The tensor's own memory on CPU, or null where it lives on a device. Keeping it is only safe
     * while the tensor is updated in place (never re-pointed or closed).
     */
    static ByteBuffer hostView(NDArray array) {
        return array.getDevice().isGpu() ? null : array.toByteBuffer(true);
    }

    /** Lets {@code reader} see the bytes; it must not keep the buffer. */
    static void read(NDArray array, Consumer<ByteBuffer> reader) {
        ByteBuffer view = hostView(array);
        if (view != null) {
            reader.accept(view);
            return;
        }
        try (NDArray host = array.toDevice(Device.cpu(), true)) {
            reader.accept(host.toByteBuffer(true));
        }
    }

    /** Lets {@code writer} change the bytes in place; the tensor holds the result afterwards. */
    static void update(NDArray array, Consumer<ByteBuffer> writer) {
        ByteBuffer view = hostView(array);
        if (view != null) {
            writer.accept(view);
            return;
        }
        updateThroughCopy(array, writer);
    }

    /** The GPU path; callable on CPU tensors so it can be tested where there is no GPU. */
    static void updateThroughCopy(NDArray array, Consumer<ByteBuffer> writer) {
        try (NDArray host = array.toDevice(Device.cpu(), true)) {
            writer.accept(host.toByteBuffer(true));
            // a parameter that requires gradients refuses writes under grad mode; its detached view shares the memory
            try (NDArray back = host.toDevice(array.getDevice(), true); NDArray target = array.stopGradient()) {
                target.set(ALL, back);
            }
        }
    }
}
