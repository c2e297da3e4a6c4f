package dev.trainyard.runtime;

import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.host.HostCommunicator;
import dev.trainyard.collectives.nccl.NcclCommunicator;
import dev.trainyard.collectives.nccl.NcclProbe;
import dev.trainyard.collectives.security.JobToken;
import dev.trainyard.collectives.store.GrpcStore;
import dev.trainyard.collectives.store.InMemoryStore;
import dev.trainyard.collectives.store.Store;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Worker entry point: {@code try (ProcessGroup pg = Trainyard.init()) { ... }}. Under
 * {@code trainyard launch} it joins the job the launcher describes in the environment; started
 * on its own it is a world of 1, so the same program runs both ways.
 */
public final class Trainyard {
    private static final Logger LOG = LoggerFactory.getLogger(Trainyard.class);
    /** The options as the launcher chose them: the only case in which a handed-over group is the one asked for. */
    private static final UnaryOperator<CommunicatorOptions> AS_LAUNCHED = o -> o;
    /**
     * The group preflight connected and passed on: the job's first {@code init} takes it instead
     * of connecting again, so a start pays for one cold connection (gRPC, Netty, the data plane),
     * not two.
     */
    private static final AtomicReference<ProcessGroup> HANDED_OVER = new AtomicReference<>();

    private Trainyard() {
    }

    /**
     * Leaves {@code group}, connected by {@link #init(WorkerContext)}, for this JVM's next
     * {@code init} of the same context with the launcher's options; any other {@code init} closes it
     * and connects anew under a store prefix of its own.
     */
    public static void handOver(ProcessGroup group) {
        ProcessGroup earlier = HANDED_OVER.getAndSet(group);
        if (earlier != null) {
            earlier.close();
        }
    }

    public static ProcessGroup init() {
        return init(WorkerContext.current());
    }

    public static ProcessGroup init(Map<String, String> env) {
        return init(WorkerContext.fromEnvironment(env));
    }

    public static ProcessGroup init(WorkerContext ctx) {
        return init(ctx, AS_LAUNCHED);
    }

    /** As {@link #init()}, with the communicator's options adjusted (chunk size, transport, timeouts). */
    public static ProcessGroup init(UnaryOperator<CommunicatorOptions> tune) {
        return init(WorkerContext.current(), tune);
    }

    public static ProcessGroup init(WorkerContext ctx, UnaryOperator<CommunicatorOptions> tune) {
        ProcessGroup ready = HANDED_OVER.getAndSet(null);
        if (ready != null) {
            if (tune == AS_LAUNCHED && ready.context().equals(ctx)) {
                return ready;
            }
            ready.close();
            // every rank runs the same code, so every rank connects anew; the handed-over group's keys are taken
            ctx = ctx.withStorePrefix(ctx.storePrefix() + "retuned/");
        }
        if (ctx.standalone()) {
            InMemoryStore store = new InMemoryStore(ctx.rendezvousTimeout());
            return new ProcessGroup(ctx, store, HostCommunicator.connect(store, 0, 1,
                    CommunicatorOptions.defaults(JobToken.generate())), store);
        }
        GrpcStore remote = new GrpcStore(ctx.masterAddr(), ctx.masterPort(), ctx.token(), ctx.security(), ctx.rendezvousTimeout(),
                GrpcStore.DEFAULT_CALL_DEADLINE);
        Store store = ctx.storePrefix().isEmpty() ? remote : remote.prefixed(ctx.storePrefix());
        CommunicatorOptions options = tune.apply(ctx.communicatorOptions());
        try {
            long t0 = System.nanoTime();
            BackendSelection.Choice choice = BackendSelection.choose(ctx.backend(), ctx.security().encrypted(), ctx.rank(),
                    ctx.worldSize(), store, ctx.rendezvousTimeout(), ctx.backend() == Backend.GRPC ? null : NcclProbe.local());
            if (ctx.rank() == 0) {
                LOG.info(choice.why()); // one line per job, in rank 0's log
            }
            Communicator communicator = choice.backend() == Backend.NCCL
                    // the launcher pins one GPU per worker (CUDA_VISIBLE_DEVICES), so it is device 0 here
                    ? NcclCommunicator.connect(store, ctx.rank(), ctx.worldSize(), 0, options.connectTimeout(), options.timeout(),
                            NcclProbe.localRuntime())
                    : HostCommunicator.connect(store, ctx.rank(), ctx.worldSize(), options);
            ProcessGroup pg = new ProcessGroup(ctx, store, communicator, remote);
            RunEvents.span("rendezvous", t0, System.nanoTime());
            if (ctx.rank() == 0) {
                RunEvents.backend(choice.backend().cliName(), choice.backend() == Backend.NCCL ? "gpu" : options.effectiveTransport().cliName());
            }
            return pg;
        } catch (RuntimeException e) {
            remote.close();
            throw e;
        }
    }
}
