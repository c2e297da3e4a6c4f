package dev.trainyard.runtime.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.ReduceOp;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * {@link GradientBuckets} for gradients that cannot live inside a host buffer (GPU tensors): one
 * contiguous float32 tensor per bucket on the model's device, plus one element for the non-finite
 * flag. Launching a bucket copies its gradients in (kernels on the compute stream, no host sync)
 * and starts the all-reduce; awaiting copies the average back into every gradient.
 *
 * <p>With a communicator that takes device pointers (NCCL) the bucket is reduced in place, its
 * address from {@link TensorAddress}. Otherwise — gRPC, or a DJL without that entry point — the
 * bucket is staged through a host copy, and the first launch says so once.
 */
final class CopiedGradientBuckets implements GradientBuckets {
    private static final Logger LOG = LoggerFactory.getLogger(CopiedGradientBuckets.class);
    private final BucketPlan plan;
    private final Communicator comm;
    private final DeviceCollectives device;
    private final int worldSize;
    private final boolean checkFinite;
    private final NDArray[] flat;
    private final long[] address;
    /** Host copies of staged buckets, alive until their all-reduce is awaited. */
    private final NDArray[] staged;
    private final NDIndex[][] slotIndex;
    private final NDIndex[] valuesIndex;
    private final NDIndex[] flagIndex;
    private final NDArray[] localFlag;
    private final boolean[] launched;
    private final InFlightBuckets inFlight;
    private final String stagingReason;
    private boolean saidStaging;
    private boolean stepNonFinite;
    private String localNonFiniteParameter;

    CopiedGradientBuckets(BucketPlan plan, Communicator comm, int worldSize, boolean checkFinite, NDManager manager, Device on) {
        this.plan = plan;
        this.comm = comm;
        this.worldSize = worldSize;
        this.checkFinite = checkFinite;
        String addressMissing = TensorAddress.unavailableReason();
        boolean inPlace = comm instanceof DeviceCollectives && addressMissing == null;
        this.device = inPlace ? (DeviceCollectives) comm : null;
        this.stagingReason = inPlace ? null : comm instanceof DeviceCollectives ? addressMissing
                : "the " + comm.getClass().getSimpleName() + " takes host buffers";
        int n = plan.buckets().size();
        flat = new NDArray[n];
        address = new long[n];
        staged = new NDArray[n];
        slotIndex = new NDIndex[n][];
        valuesIndex = new NDIndex[n];
        flagIndex = new NDIndex[n];
        localFlag = new NDArray[n];
        launched = new boolean[n];
        inFlight = new InFlightBuckets(n);
        for (BucketPlan.Bucket b : plan.buckets()) {
            int i = b.index();
            long count = b.bytes() / Float.BYTES;
            flat[i] = manager.zeros(new Shape(count + 1), ai.djl.ndarray.types.DataType.FLOAT32, on);
            address[i] = inPlace ? TensorAddress.of(flat[i]) : 0;
            valuesIndex[i] = new NDIndex("0:{}", count);
            flagIndex[i] = new NDIndex("{}:{}", count, count + 1);
            slotIndex[i] = new NDIndex[b.slots().size()];
            for (int k = 0; k < b.slots().size(); k++) {
                BucketPlan.Slot s = b.slots().get(k);
                slotIndex[i][k] = new NDIndex("{}:{}", s.offsetBytes() / Float.BYTES, (s.offsetBytes() + s.bytes()) / Float.BYTES);
            }
        }
    }

    @Override
    public BucketPlan plan() {
        return plan;
    }

    @Override
    public void launch(BucketPlan.Bucket b, boolean last) {
        int i = b.index();
        for (int k = 0; k < b.slots().size(); k++) {
            try (NDArray grad = b.slots().get(k).parameter().getArray().getGradient(); NDArray flatGrad = grad.reshape(-1)) {
                flat[i].set(slotIndex[i][k], flatGrad);
            }
        }
        if (checkFinite) {
            markNonFinite(i);
        }
        launched[i] = true;
        if (worldSize == 1) {
            return; // nothing to average: the bucket is only checked
        }
        inFlight.launching(i);
        long count = flat[i].size();
        if (device != null) {
            inFlight.launched(i, device.allReduceAsync(address[i], count, DataType.FLOAT32, ReduceOp.AVG));
            return;
        }
        if (!saidStaging) {
            saidStaging = true;
            LOG.info("gradients on {} are all-reduced through host copies ({})", flat[i].getDevice(), stagingReason);
        }
        staged[i] = flat[i].toDevice(Device.cpu(), true);
        ByteBuffer host = staged[i].toByteBuffer(true);
        inFlight.launched(i, InFlightBuckets.allReduce(comm, host, DataType.FLOAT32, ReduceOp.AVG, last));
    }

    /** Writes 1 into the bucket's last element where a gradient value is NaN or infinite, on the device, without a host sync. */
    private void markNonFinite(int i) {
        if (localFlag[i] != null) {
            localFlag[i].close();
        }
        try (NDArray values = flat[i].get(valuesIndex[i]);
             NDArray nan = values.isNaN(); NDArray inf = values.isInfinite(); NDArray bad = nan.logicalOr(inf);
             NDArray any = bad.any(); NDArray asFloat = any.toType(ai.djl.ndarray.types.DataType.FLOAT32, false)) {
            localFlag[i] = asFloat.reshape(1);
            flat[i].set(flagIndex[i], localFlag[i]);
        }
    }

    @Override
    public void awaitAll() {
        inFlight.awaitAll(i -> {
            if (staged[i] != null) {
                try (NDArray back = staged[i].toDevice(flat[i].getDevice(), true)) {
                    flat[i].set(ParameterBytes.ALL, back);
                }
                staged[i].close();
                staged[i] = null;
            }
        });
        stepNonFinite = false;
        localNonFiniteParameter = null;
        for (BucketPlan.Bucket b : plan.buckets()) {
            int i = b.index();
            if (!launched[i]) {
                continue;
            }
            if (checkFinite) {
                stepNonFinite |= flat[i].getFloat(flat[i].size() - 1) > 0;
                if (localNonFiniteParameter == null && localFlag[i].getFloat(0) > 0) {
                    localNonFiniteParameter = firstNonFinite(b);
                }
            }
            copyBack(b);
            launched[i] = false;
        }
    }

    /** The first parameter of {@code b} whose own (not yet averaged) gradient holds NaN or infinity. */
    private String firstNonFinite(BucketPlan.Bucket b) {
        for (BucketPlan.Slot s : b.slots()) {
            try (NDArray grad = s.parameter().getArray().getGradient(); NDArray nan = grad.isNaN(); NDArray inf = grad.isInfinite();
                 NDArray bad = nan.logicalOr(inf); NDArray any = bad.any()) {
                if (any.getBoolean()) {
                    return s.name();
                }
            }
        }
        return "?";
    }

    private void copyBack(BucketPlan.Bucket b) {
        int i = b.index();
        if (worldSize == 1) {
            return; // the gradients are already the result
        }
        for (int k = 0; k < b.slots().size(); k++) {
            BucketPlan.Slot s = b.slots().get(k);
            try (NDArray grad = s.parameter().getArray().getGradient(); NDArray part = flat[i].get(slotIndex[i][k]);
                 NDArray shaped = part.reshape(grad.getShape())) {
                grad.set(ParameterBytes.ALL, shaped);
            }
        }
    }

    @Override
    public boolean stepHadNonFinite() {
        return stepNonFinite;
    }

    @Override
    public String localNonFiniteParameter() {
        return localNonFiniteParameter;
    }

    @Override
    public void zeroAll() {
        for (BucketPlan.Bucket b : plan.buckets()) {
            for (BucketPlan.Slot s : b.slots()) {
                try (NDArray grad = s.parameter().getArray().getGradient()) {
                    grad.set(ParameterBytes.ALL, 0f);
                }
            }
        }
    }

    @Override
    public FloatBuffer[] hostGradients() {
        return null;
    }

    @Override
    public long bytesPerStep() {
        return plan.totalBytes();
    }

    @Override
    public InFlightBuckets timing() {
        return inFlight;
    }
}
