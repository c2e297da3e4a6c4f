package dev.trainyard.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.DeviceCollectives;
import dev.trainyard.collectives.ReduceOp;
import java.util.zip.CRC32;

/** Parameter-wide operations across ranks, always in the block's name order (identical on every rank). */
final class ParameterSync {
    private ParameterSync() {
    }

    /**
     * Overwrites every parameter (trainable or not, e.g. batch-norm statistics) with rank 0's: in place
     * on the device through NCCL where the communicator takes device pointers, else through host bytes.
     */
    static void broadcastFromRank0(Block block, Communicator comm) {
        for (Pair<String, Parameter> p : block.getParameters()) {
            broadcastFromRank0(p.getKey(), p.getValue().getArray(), comm);
        }
    }

    /** Overwrites one array with rank 0's. */
    static void broadcastFromRank0(NDArray array, Communicator comm) {
        broadcastFromRank0(array.getName() != null ? array.getName() : "a buffer", array, comm);
    }

    private static void broadcastFromRank0(String name, NDArray array, Communicator comm) {
        boolean onDevice = comm instanceof DeviceCollectives && TensorAddress.unavailableReason() == null;
        DataType type = wireType(name, array);
        if (onDevice && array.getDevice().isGpu()) {
            ((DeviceCollectives) comm).broadcastAsync(TensorAddress.of(array), array.size(), type, 0).await();
        } else {
            ParameterBytes.update(array, data -> comm.broadcast(data, type, 0));
        }
    }

    /** Fails on every rank (not only the odd one) when ranks built different bucket plans. */
    static void requireSamePlan(BucketPlan plan, Communicator comm, int rank) {
        long[] min = {plan.signature()};
        long[] max = {plan.signature()};
        comm.allReduce(min, ReduceOp.MIN);
        comm.allReduce(max, ReduceOp.MAX);
        if (min[0] != max[0]) {
            throw new IllegalStateException("rank " + rank + ": the ranks built different models (parameter names or shapes differ); "
                    + "every rank must construct the same block");
        }
    }

    /** CRC32 of every parameter's bytes in name order: equal on two ranks iff their parameters are bit-identical. */
    static long digest(Block block) {
        CRC32 crc = new CRC32();
        for (Pair<String, Parameter> p : block.getParameters()) {
            ParameterBytes.read(p.getValue().getArray(), data -> crc.update(data.duplicate()));
        }
        return crc.getValue();
    }

    private static DataType wireType(String name, NDArray array) {
        return switch (array.getDataType()) {
            case FLOAT32 -> DataType.FLOAT32;
            case FLOAT64 -> DataType.FLOAT64;
            case INT32 -> DataType.INT32;
            case INT64 -> DataType.INT64;
            default -> throw new IllegalStateException("parameter " + name + " has type " + array.getDataType() + ", which cannot be broadcast");
        };
    }
}
