package dev.trainyard.runtime.train;

import ai.djl.nn.Block;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.runtime.optim.OptimizerState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * How the ranks of a sharded (ZeRO-1) optimizer write one checkpoint together: rank 0 prepares an
 * empty directory, every rank writes its own shard and makes it durable, the ranks exchange what
 * they wrote (size and checksum, or a failure), and rank 0 commits the directory with its manifest
 * only when every shard is there; if any rank failed, nothing of it stays and every rank stops with
 * the ranks named. This needs the checkpoint directory to be one directory for every rank; where
 * it is not (nodes without a shared filesystem), found out once per directory by a probe file,
 * the state is gathered to rank 0 instead, which writes one file.
 */
final class ShardedCheckpoints {
    private final Communicator comm;
    private final Consumer<String> say;
    private final Map<Path, Boolean> shared = new HashMap<>();

    ShardedCheckpoints(Communicator comm, Consumer<String> say) {
        this.comm = comm;
        this.say = say;
    }

    /** Whether every rank sees rank 0's checkpoint directory as its own; collective the first time per directory. */
    boolean sharedByEveryRank(Checkpoints checkpoints) {
        return shared.computeIfAbsent(checkpoints.directory(), this::probe);
    }

    private boolean probe(Path dir) {
        long[] nonce = {0};
        Path probe = null;
        if (comm.rank() == 0) {
            try {
                Files.createDirectories(dir);
                nonce[0] = new SecureRandom().nextLong() | 1;
                probe = Files.createFile(dir.resolve(".shared-probe-" + Long.toHexString(nonce[0])));
            } catch (IOException e) {
                nonce[0] = 0; // the first save will name the problem
            }
        }
        comm.broadcast(nonce, 0); // rank 0 created the file before anyone looks for it
        long[] seen = {nonce[0] != 0 && Files.exists(dir.resolve(".shared-probe-" + Long.toHexString(nonce[0]))) ? 1 : 0};
        comm.allReduce(seen, ReduceOp.MIN);
        if (probe != null) {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // a stray probe file is harmless
            }
        }
        if (seen[0] == 0 && nonce[0] != 0) {
            say.accept("the checkpoint directory " + dir + " is not one directory shared by every rank: each checkpoint gathers the"
                    + " sharded optimizer's state to rank 0, which writes it as one file");
        }
        return seen[0] == 1;
    }

    /** Every rank at the same step; rank 0 returns the committed directory. */
    Optional<Path> save(Checkpoints checkpoints, TrainingState state, Block block, OptimizerShard own, List<OptimizerState.Slice> layout) {
        boolean root = comm.rank() == 0;
        int world = comm.size();
        Path target = checkpoints.shardDirectory(state.step());
        long[] prepared = {1};
        RuntimeException rootFailure = null;
        if (root) {
            try {
                checkpoints.prepareShardDirectory(state.step());
            } catch (RuntimeException e) {
                prepared[0] = 0;
                rootFailure = e;
            }
        }
        comm.broadcast(prepared, 0); // nobody writes into the directory before rank 0 emptied it
        if (prepared[0] == 0) {
            throw rootFailure != null ? rootFailure
                    : new UncheckedIOException(new IOException("rank 0 could not prepare the checkpoint directory " + target
                            + " (its log says why); the previous checkpoint is still valid"));
        }
        long[] written = new long[3 * world];
        RuntimeException mine = null;
        try {
            CheckpointDirectory.FileEntry e = checkpoints.writeShard(target, own);
            written[3 * comm.rank()] = 1;
            written[3 * comm.rank() + 1] = e.bytes();
            written[3 * comm.rank() + 2] = e.crc32();
        } catch (RuntimeException e) {
            mine = e;
        }
        comm.allReduce(written, ReduceOp.SUM);
        List<Integer> failed = new ArrayList<>();
        List<CheckpointDirectory.FileEntry> shards = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            if (written[3 * r] != 1) {
                failed.add(r);
            }
            shards.add(new CheckpointDirectory.FileEntry(CheckpointDirectory.shardName(r, world), written[3 * r + 1], written[3 * r + 2]));
        }
        if (!failed.isEmpty()) {
            if (root) {
                checkpoints.abandon(target);
            }
            throw mine != null ? mine : new UncheckedIOException(new IOException("rank(s) " + failed + " could not write their optimizer shard into "
                    + target + " (their log says why); the previous checkpoint is still valid"));
        }
        return root ? Optional.of(checkpoints.commitShards(target, state, block, own, layout, shards)) : Optional.empty();
    }
}
