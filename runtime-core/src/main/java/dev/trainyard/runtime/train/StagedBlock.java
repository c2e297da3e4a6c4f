package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import java.util.List;

/**
 * A block of the user's own that tells the trainer where its backward can be cut, so gradients of
 * its later parts travel while its earlier parts still compute. {@link DistributedTrainer} already
 * looks into {@link ai.djl.nn.SequentialBlock}s (nested ones too); any other block is one piece
 * unless it implements this.
 *
 * <p>The contract: during training, this block's forward on {@code x} equals applying
 * {@link #stages()} to {@code x} one after another, each to the previous one's output, and every
 * parameter of this block belongs to exactly one of them. A transformer's stages are typically
 * its embedding, each layer, and its head. The trainer may itself look into the stages (a stage
 * that is a {@code SequentialBlock} or another {@code StagedBlock} is cut further).
 */
public interface StagedBlock extends Block {
    /** The consecutive pieces of this block's forward, in forward order. */
    List<Block> stages();
}
