package dev.trainyard.collectives.host;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.Empty;
import dev.trainyard.collectives.AllReduceAlgorithm;
import dev.trainyard.collectives.CollectiveException;
import dev.trainyard.collectives.CollectiveOp;
import dev.trainyard.collectives.Communicator;
import dev.trainyard.collectives.CommunicatorAbortedException;
import dev.trainyard.collectives.CommunicatorOptions;
import dev.trainyard.collectives.DataType;
import dev.trainyard.collectives.Fingerprint;
import dev.trainyard.collectives.FingerprintMismatchException;
import dev.trainyard.collectives.GrpcServers;
import dev.trainyard.collectives.HostBuffers;
import dev.trainyard.collectives.HostPort;
import dev.trainyard.collectives.Keepalive;
import dev.trainyard.collectives.PeerFailureException;
import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import dev.trainyard.collectives.Work;
import dev.trainyard.collectives.grpc.proto.AbortRequest;
import dev.trainyard.collectives.grpc.proto.PeerControlGrpc;
import dev.trainyard.collectives.grpc.proto.ProgressReply;
import dev.trainyard.collectives.host.algorithm.Agreement;
import dev.trainyard.collectives.host.algorithm.ChainBroadcast;
import dev.trainyard.collectives.host.algorithm.Collective;
import dev.trainyard.collectives.host.algorithm.DirectAllGather;
import dev.trainyard.collectives.host.algorithm.DirectAllReduce;
import dev.trainyard.collectives.host.algorithm.DirectReduceScatter;
import dev.trainyard.collectives.host.algorithm.HierarchicalAllReduce;
import dev.trainyard.collectives.host.algorithm.HostAllReduce;
import dev.trainyard.collectives.host.algorithm.HostGroups;
import dev.trainyard.collectives.host.transport.HostIdentity;
import dev.trainyard.collectives.host.algorithm.RingPass;
import dev.trainyard.collectives.host.algorithm.Segments;
import dev.trainyard.collectives.host.transport.CollectiveContext;
import dev.trainyard.collectives.host.transport.Exchange;
import dev.trainyard.collectives.host.transport.Frame;
import dev.trainyard.collectives.host.transport.FrameHeader;
import dev.trainyard.collectives.host.transport.FramePool;
import dev.trainyard.collectives.host.transport.LinkEvents;
import dev.trainyard.collectives.host.transport.PeerLink;
import dev.trainyard.collectives.host.transport.grpc.DataPlane;
import dev.trainyard.collectives.host.transport.grpc.GrpcPeerLink;
import dev.trainyard.collectives.host.transport.grpc.NettyDefaults;
import dev.trainyard.collectives.host.transport.shm.HostRounds;
import dev.trainyard.collectives.host.transport.shm.HostSegment;
import dev.trainyard.collectives.host.transport.shm.SharedMemoryLinks;
import dev.trainyard.collectives.host.transport.tcp.TcpHandshake;
import dev.trainyard.collectives.host.transport.tcp.TcpListener;
import dev.trainyard.collectives.host.transport.tcp.TcpPeerLink;
import dev.trainyard.collectives.store.Store;
import dev.trainyard.collectives.store.StoreAllGather;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Communicator} over gRPC: each rank runs a data-plane server, publishes its endpoint
 * through the rendezvous store and keeps one long-lived stream to every peer. Large messages
 * take a pipelined ring; messages up to {@code smallMessageBytes} one direct exchange.
 *
 * <p>Threads: callers only enqueue; one collective thread per communicator runs the work in
 * issue order and is the only thread that sends or reduces; gRPC's event-loop threads parse
 * incoming frames into pooled buffers and wake it. Failures (peer lost, mismatch, timeout,
 * abort) poison the communicator: current and later work fail with the cause, and peers are
 * told so they fail within milliseconds rather than at their own timeout.
 */
public final class HostCommunicator implements Communicator, LinkEvents, CollectiveContext {
    private static final Logger LOG = LoggerFactory.getLogger(HostCommunicator.class);
    private static final Duration NOTICE_DEADLINE = Duration.ofSeconds(2);
    private static final boolean HOST_ALL_REDUCE = !"false".equals(System.getProperty("trainyard.hostAllReduce"));

    static {
        NettyDefaults.apply();
    }

    private final int rank;
    private final int size;
    private final CommunicatorOptions options;
    private final PeerLink[] links;
    private final PeerControlGrpc.PeerControlFutureStub[] control;
    private final ManagedChannel[] channels;
    private final FramePool pool;
    private final MethodDescriptor<Frame, Empty> method;
    private final Exchange exchange;
    private final ThreadPoolExecutor executor;
    /** Issued and not yet finished, in issue order (failures are delivered in that order). */
    private final Set<Work.Completion> pending = new ConcurrentSkipListSet<>(Comparator.comparingLong((Work.Completion w) -> w.work().fingerprint().seq()));
    /** Held by whichever thread runs a collective: the collective thread, or a caller (see {@link #allReduceOnCallerThread}). */
    private final ReentrantLock runningLock = new ReentrantLock();
    private Server server;
    private TcpListener tcpListener;
    private volatile Thread collectiveThread;
    private long nextSeq;
    private volatile long startedSeq = -1;
    private volatile long completedSeq = -1;
    private volatile Fingerprint running;
    private volatile CollectiveException failure;
    private volatile boolean closed;
    private int sharedMemoryPeers;
    /** Set when all ranks share this host (3 or more): all-reduce then goes through its segment instead of the ring. */
    private HostRounds hostRounds;
    /** Set when the job spans hosts with equal numbers of ranks (2 or more) and the options allow: all-reduce goes hierarchical. */
    private HierarchicalAllReduce.Rings hierarchical;
    /** Abort notices in flight; {@link #abort} lets them leave before closing the channels. */
    private final List<ListenableFuture<?>> notices = new CopyOnWriteArrayList<>();

    private HostCommunicator(int rank, int size, CommunicatorOptions options) {
        this.rank = rank;
        this.size = size;
        this.options = options;
        this.links = new PeerLink[size];
        this.control = new PeerControlGrpc.PeerControlFutureStub[size];
        this.channels = new ManagedChannel[size];
        int window = options.receiveWindow();
        this.pool = new FramePool(options.chunkBytes(), Math.max(16, size * (window + 2)));
        this.method = DataPlane.method(pool);
        byte[] sendScratch = new byte[64 << 10]; // only the collective thread sends
        for (int p = 0; p < size; p++) {
            if (p != rank) {
                links[p] = options.effectiveTransport().rawTcp() ? new TcpPeerLink(p, this, pool, window)
                        : new GrpcPeerLink(p, this, sendScratch, window);
            }
        }
        this.exchange = new Exchange(rank, size, options.chunkBytes(), links, pool, this);
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "trainyard-collectives-rank-" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Joins the group: starts this rank's listeners, publishes {@code endpoint/<rank>} (and
     * {@code tcp/<rank>}) in {@code store}, waits for every peer's and connects to each.
     * With {@code size == 1} nothing touches the network.
     *
     * @throws PeerFailureException naming the ranks that did not show up or cannot be reached
     */
    public static HostCommunicator connect(Store store, int rank, int size, CommunicatorOptions options) {
        if (size < 1) {
            throw new IllegalArgumentException("group size must be at least 1, got " + size);
        }
        if (rank < 0 || rank >= size) {
            throw new IllegalArgumentException("rank " + rank + " is outside the group of " + size + " (valid: 0.." + (size - 1) + ")");
        }
        HostCommunicator c = new HostCommunicator(rank, size, options);
        if (size > 1) {
            try {
                c.joinPeers(store);
            } catch (RuntimeException e) {
                c.shutdownTransport();
                c.executor.shutdownNow();
                throw e;
            }
        }
        return c;
    }

    private void joinPeers(Store store) {
        boolean tcp = options.effectiveTransport().rawTcp();
        TcpHandshake handshake = new TcpHandshake(options.token(), rank, size);
        startListeners(tcp, handshake);
        Endpoints endpoints = publishAndAwaitPeers(store, tcp);
        for (int p = 0; p < size; p++) {
            if (p != rank) {
                connectTo(p, endpoints, tcp, handshake);
            }
        }
        awaitConnected();
        String identity = options.hostIdentity().isEmpty() ? HostIdentity.thisMachine() : options.hostIdentity();
        HostGroups groups = HostGroups.of(gather(store, HOSTS, identity), rank);
        if (options.effectiveTransport() == Transport.SHARED_MEMORY) {
            sharedMemoryPeers = SharedMemoryLinks.establish(store, rank, size, links, options.token(), options.receiveWindow(),
                    options.chunkBytes(), options.connectTimeout());
            // every rank computes on at least one thread: more ranks here than cores means waiting ranks must give theirs up
            boolean oversubscribed = sharedMemoryPeers + 1 > Runtime.getRuntime().availableProcessors();
            exchange.oversubscribed(oversubscribed);
            boolean wanted = size > 2 && sharedMemoryPeers == size - 1 && groups.hosts().length == 1 && HOST_ALL_REDUCE;
            HostSegment segment = SharedMemoryLinks.hostSegment(store, rank, size, options.token(), wanted, 2 * options.chunkBytes(),
                    options.connectTimeout());
            hostRounds = segment == null ? null : new HostRounds(segment, rank, size, links, oversubscribed);
        }
        LOG.info("rank {}: frames to {} of {} peers through shared memory, the others through {}", rank,
                sharedMemoryPeers, size - 1, tcp ? "TCP" : "gRPC streams");
        chooseAllReduce(groups);
    }

    /**
     * Hierarchical across hosts where it applies and is not turned off; asked for where it does not
     * apply, the job stops with the reason on every rank (all compute the same groups).
     */
    private void chooseAllReduce(HostGroups groups) {
        String whyNot = groups.whyNotHierarchical();
        AllReduceAlgorithm wanted = options.allReduceAlgorithm();
        if (wanted == AllReduceAlgorithm.HIERARCHICAL && whyNot != null) {
            throw new IllegalArgumentException("the hierarchical all-reduce was asked for, but " + whyNot
                    + "; use the ring (--all-reduce ring) or let Trainyard choose (--all-reduce auto)");
        }
        hierarchical = whyNot == null && wanted != AllReduceAlgorithm.RING && hostRounds == null ? HierarchicalAllReduce.Rings.of(groups) : null;
        if (rank == 0) {
            LOG.info("all-reduce above {} bytes: {}", options.smallMessageBytes(), allReduceAlgorithm(Integer.MAX_VALUE)
                    + (hierarchical != null ? " (" + groups.describe() + ")" : whyNot != null && groups.hosts().length > 1 ? " (not hierarchical: " + whyNot + ")" : ""));
        }
    }

    /** What all-reduces a message of {@code bytes}: direct, host segment, hierarchical or ring (the one place that decides). */
    String allReduceAlgorithm(int bytes) {
        return bytes <= options.smallMessageBytes() ? "direct" : usesHostSegment() ? "host segment" : hierarchical != null ? "hierarchical" : "ring";
    }

    private Collective allReduceOf(ByteBuffer buf, DataType type, ReduceOp op) {
        return switch (allReduceAlgorithm(buf.limit())) {
            case "direct" -> new DirectAllReduce(buf, type, op);
            case "host segment" -> new HostAllReduce(hostRounds, buf, type, op);
            case "hierarchical" -> new HierarchicalAllReduce(hierarchical, buf, type, op);
            default -> ex -> RingPass.run(ex, buf, Segments.balanced(buf.limit() / type.bytes(), size, type.bytes(), options.chunkBytes()),
                    type, op, 0, 2 * size - 2);
        };
    }

    private int maxMessageBytes() {
        return options.chunkBytes() + FrameHeader.BYTES + 1024;
    }

    /** The gRPC server (peer control; the data-plane streams with GRPC_STREAM) and, with TCP, the TCP listener. */
    private void startListeners(boolean tcp, TcpHandshake handshake) {
        int window = options.receiveWindow();
        NettyServerBuilder builder = GrpcServers.builder(new InetSocketAddress(options.bindHost(), 0), options.security().serverCredentials())
                .directExecutor()
                .maxInboundMessageSize(maxMessageBytes())
                .flowControlWindow(Math.max(1 << 20, (window + 1) * maxMessageBytes()))
                .intercept(options.token().serverInterceptor("data plane of rank " + rank))
                .addService(new PeerControlService(this));
        if (!tcp) {
            builder.addService(DataPlane.service(method, size, p -> (GrpcPeerLink) links[p], window));
        }
        server = builder.build();
        try {
            server.start();
            if (tcp) {
                tcpListener = TcpListener.start(options.bindHost(), rank, handshake, p -> (TcpPeerLink) links[p]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rank " + rank + " cannot start its data-plane server on "
                    + options.bindHost() + ": " + e.getMessage() + " (check --bind / the host's addresses)", e);
        }
    }

    /** Every rank's control endpoint ({@code host:port}) and, with raw TCP, its data-plane port: published, then everybody's read. */
    private record Endpoints(List<String> addresses, List<String> tcpPorts) {
    }

    private Endpoints publishAndAwaitPeers(Store store, boolean tcp) {
        int port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
        if (tcp) {
            // first: once a rank's endpoint is in the store its data port is too, and peers can reach it before it waits
            store.setString(tcpKey(rank), Integer.toString(tcpListener.port()));
        }
        List<String> addresses = gather(store, ENDPOINTS, HostPort.format(options.advertiseHost(), port));
        List<String> tcpPorts = new ArrayList<>();
        for (int p = 0; tcp && p < size; p++) {
            tcpPorts.add(store.getString(tcpKey(p), options.connectTimeout()));
        }
        return new Endpoints(addresses, tcpPorts);
    }

    private List<String> gather(Store store, String prefix, String mine) {
        try {
            return StoreAllGather.allGather(store, prefix, rank, size, mine, options.connectTimeout());
        } catch (StoreAllGather.MissingRanksException e) {
            throw new PeerFailureException("rank " + rank + ": ranks " + e.missingRanks() + " did not join the group of " + size
                    + " within " + options.connectTimeout().toSeconds() + " s (not started, crashed, or using another store)",
                    e.missingRanks(), e);
        }
    }

    /** The control channel to {@code p}, and the data-plane connection or stream. */
    private void connectTo(int p, Endpoints endpoints, boolean tcp, TcpHandshake handshake) {
        String address = endpoints.addresses().get(p);
        channels[p] = Keepalive.on(NettyChannelBuilder.forTarget(address, options.security().channelCredentials()))
                .directExecutor()
                .disableRetry() // a retried stream would re-send frames we already reused
                .maxInboundMessageSize(maxMessageBytes())
                .build();
        control[p] = PeerControlGrpc.newFutureStub(channels[p]).withCallCredentials(options.token().callCredentials());
        if (!tcp) {
            Metadata headers = new Metadata();
            headers.put(DataPlane.SENDER_RANK, Integer.toString(rank));
            headers.put(DataPlane.WORLD_SIZE, Integer.toString(size));
            CallOptions callOptions = CallOptions.DEFAULT
                    .withCallCredentials(options.token().callCredentials())
                    .withOnReadyThreshold(4 * options.chunkBytes());
            ((GrpcPeerLink) links[p]).open(address, channels[p], method, callOptions, headers);
            return;
        }
        String host = HostPort.host(address);
        int tcpPort = Integer.parseInt(endpoints.tcpPorts().get(p));
        try {
            ((TcpPeerLink) links[p]).connect(host, tcpPort, handshake, rank, options.connectTimeout().toMillis());
        } catch (IOException e) {
            throw new PeerFailureException("rank " + rank + " cannot open a data-plane connection to rank " + p
                    + " at " + HostPort.format(host, tcpPort) + ": " + e.getMessage(), List.of(p), e);
        }
    }

    private static final String ENDPOINTS = "endpoint/";
    private static final String HOSTS = "host/";
    private static final String TCP_PORTS = "tcp/";

    static String endpointKey(int rank) {
        return ENDPOINTS + rank;
    }

    static String tcpKey(int rank) {
        return TCP_PORTS + rank;
    }

    private void awaitConnected() {
        long deadline = System.nanoTime() + options.connectTimeout().toNanos();
        collectiveThread = Thread.currentThread();
        try {
            while (true) {
                List<Integer> notReady = new ArrayList<>();
                for (PeerLink link : links) {
                    if (link != null && !link.ready()) {
                        if (link.outboundClosed() != null) {
                            throw new PeerFailureException("rank " + rank + " cannot open a stream to rank " + link.peer
                                    + " at " + link.address() + ": " + link.outboundClosed(), List.of(link.peer), null);
                        }
                        notReady.add(link.peer);
                    }
                }
                if (notReady.isEmpty()) {
                    return;
                }
                if (failure != null) {
                    throw failure;
                }
                if (System.nanoTime() > deadline) {
                    throw new PeerFailureException("rank " + rank + " could not connect to ranks " + notReady + " within "
                            + options.connectTimeout().toSeconds() + " s (firewall, wrong advertised address, or peer down)", notReady, null);
                }
                LockSupport.parkNanos(this, 50_000_000L);
            }
        } finally {
            collectiveThread = null;
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    /** How many peers this rank exchanges frames with through shared memory (the others: TCP or gRPC). */
    public int sharedMemoryPeers() {
        return sharedMemoryPeers;
    }

    @Override
    public int size() {
        return size;
    }

    public CommunicatorOptions options() {
        return options;
    }

    // ---------------------------------------------------------------- API

    @Override
    public Work allReduceAsync(ByteBuffer buffer, DataType type, ReduceOp op) {
        return allReduce(buffer, type, op, false);
    }

    @Override
    public Work allReduceOnCallerThread(ByteBuffer buffer, DataType type, ReduceOp op) {
        return allReduce(buffer, type, op, true);
    }

    private Work allReduce(ByteBuffer buffer, DataType type, ReduceOp op, boolean onCaller) {
        ByteBuffer buf = HostBuffers.view(buffer, type, "allReduce");
        long count = buf.limit() / type.bytes();
        return submit(CollectiveOp.ALL_REDUCE, op, type, count, -1, allReduceOf(buf, type, op), onCaller);
    }

    /**
     * The host segment, where there is one (three or more ranks, all on this host), for every
     * all-reduce above the small-message size. Two ranks keep the ring: its two hops are no worse
     * than the segment's barrier, and in training (MLP, SGD, 2 workers, alternating 4 times each,
     * 2026-12-02) the ring gave 41,273-45,396 samples/s against the segment's 35,771-42,057.
     */
    public boolean usesHostSegment() {
        return hostRounds != null;
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, DataType type, int root) {
        ByteBuffer buf = HostBuffers.view(buffer, type, "broadcast");
        if (root < 0 || root >= size) {
            throw new IllegalArgumentException("broadcast root " + root + " is outside the group of " + size);
        }
        return submit(CollectiveOp.BROADCAST, null, type, buf.limit() / type.bytes(), root, new ChainBroadcast(buf, root));
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, DataType type) {
        ByteBuffer in = HostBuffers.view(input, type, "allGather input");
        ByteBuffer out = HostBuffers.view(output, type, "allGather output");
        int block = in.limit();
        HostBuffers.requireBlocks("allGather output", out, "input", in, size);
        Collective algo = out.limit() <= options.smallMessageBytes()
                ? new DirectAllGather(in, out)
                : ex -> {
                    out.put(ex.rank() * block, in, 0, block);
                    RingPass.run(ex, out, Segments.blocks(size, block, type.bytes(), options.chunkBytes()), type, null, size - 1, 2 * size - 2);
                };
        return submit(CollectiveOp.ALL_GATHER, null, type, block / type.bytes(), -1, algo);
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, DataType type, ReduceOp op) {
        ByteBuffer in = HostBuffers.view(input, type, "reduceScatter input");
        ByteBuffer out = HostBuffers.view(output, type, "reduceScatter output");
        int block = out.limit();
        HostBuffers.requireBlocks("reduceScatter input", in, "output", out, size);
        Collective algo = in.limit() <= options.smallMessageBytes()
                ? new DirectReduceScatter(in, out, type, op)
                : ex -> {
                    // The ring reduces in place; work on a copy so the caller's input stays intact.
                    ByteBuffer work = ex.scratch(in.limit());
                    work.put(0, in, 0, in.limit());
                    RingPass.run(ex, work, Segments.blocks(size, block, type.bytes(), options.chunkBytes()), type, op, 0, size - 1);
                    out.put(0, work, ex.rank() * block, block);
                };
        return submit(CollectiveOp.REDUCE_SCATTER, op, type, in.limit() / type.bytes(), -1, algo);
    }

    @Override
    public Work barrierAsync() {
        return submit(CollectiveOp.BARRIER, null, DataType.INT32, 0, -1, ex -> Agreement.run(ex, 0));
    }

    private Work submit(CollectiveOp op, ReduceOp reduceOp, DataType type, long count, int root, Collective algo) {
        return submit(op, reduceOp, type, count, root, algo, false);
    }

    /**
     * Numbers the call and queues it for the collective thread, or, with {@code onCaller} and
     * nothing else pending, runs it right here. Whoever runs a collective holds {@link #runningLock},
     * so a call queued meanwhile waits for the one on the caller's thread: issue order holds.
     */
    private Work submit(CollectiveOp op, ReduceOp reduceOp, DataType type, long count, int root, Collective algo, boolean onCaller) {
        Work.Completion work;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("rank " + rank + ": the communicator is closed");
            }
            Fingerprint fp = new Fingerprint(nextSeq++, op, reduceOp, type, count, root);
            work = Work.issue(fp);
            pending.add(work);
            if (!(onCaller && pending.size() == 1 && runningLock.tryLock())) {
                try {
                    executor.execute(() -> executeLocked(work, algo));
                } catch (RejectedExecutionException e) {
                    finish(work, notRun(fp));
                }
                return work.work();
            }
        }
        try {
            execute(work, algo);
        } finally {
            collectiveThread = null;
            runningLock.unlock();
        }
        return work.work();
    }

    private void executeLocked(Work.Completion work, Collective algo) {
        runningLock.lock();
        try {
            execute(work, algo);
        } finally {
            runningLock.unlock();
        }
    }

    private void execute(Work.Completion work, Collective algo) {
        Fingerprint fp = work.work().fingerprint();
        if (failure != null) {
            finish(work, notRun(fp));
            return;
        }
        collectiveThread = Thread.currentThread();
        running = fp;
        startedSeq = fp.seq();
        exchange.begin(fp, System.nanoTime() + options.timeout().toNanos());
        try {
            algo.run(exchange);
            completedSeq = fp.seq();
            finish(work, null);
        } catch (CollectiveException e) {
            exchange.reset();
            fail(e, true);
            exchange.letGoOfCallerBuffers(); // the caller may free its buffers the moment the work fails
            finish(work, e);
        } catch (RuntimeException | Error e) {
            exchange.reset();
            CollectiveException ce = new CollectiveException(fp + " failed on rank " + rank + ": " + e, List.of(), e);
            fail(ce, true);
            exchange.letGoOfCallerBuffers();
            finish(work, ce);
        } finally {
            running = null;
        }
    }

    private void finish(Work.Completion work, CollectiveException error) {
        pending.remove(work);
        if (error == null) {
            work.complete();
        } else {
            work.fail(error);
        }
    }

    private CollectiveException notRun(Fingerprint fp) {
        CollectiveException f = failure;
        if (f == null) {
            return new CommunicatorAbortedException(fp + " was not run on rank " + rank + ": the communicator is closed", List.of(), null);
        }
        String message = fp + " was not run on rank " + rank + " because the communicator failed: " + f.getMessage();
        // a mismatch another rank noticed first is still a mismatch here: callers handle both the same way
        return f instanceof FingerprintMismatchException ? new FingerprintMismatchException(message, f.ranks())
                : new CommunicatorAbortedException(message, f.ranks(), f);
    }

    // ---------------------------------------------------------------- failures

    @Override
    public CollectiveException failure() {
        return failure;
    }

    /** The first failure wins; it wakes the collective thread and, if asked, tells every peer. */
    private void fail(CollectiveException e, boolean tellPeers) {
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = e;
        }
        LOG.warn("rank {}: communicator failed: {}", rank, e.getMessage());
        if (hostRounds != null) {
            hostRounds.segment().poison(rank);
        }
        wake();
        if (tellPeers && size > 1 && server != null) {
            AbortRequest notice = AbortRequest.newBuilder().setFromRank(rank).setReason(e.getMessage())
                    .addAllFailedRanks(e.ranks()).setKind(FailureKind.of(e).name()).build();
            for (int p = 0; p < size; p++) {
                if (control[p] != null) {
                    notices.add(control[p].withDeadlineAfter(NOTICE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS).abort(notice));
                }
            }
        }
    }

    void abortedByPeer(AbortRequest notice) {
        String message = notice.getReason().contains("rank " + notice.getFromRank())
                ? notice.getReason() + " [reported by rank " + notice.getFromRank() + "]"
                : "rank " + notice.getFromRank() + " failed: " + notice.getReason();
        fail(FailureKind.rebuild(notice.getKind(), message, notice.getFailedRanksList()), false);
    }

    @Override
    public void linkBroken(int peer, String reason, Throwable cause) {
        if (closed) {
            return;
        }
        fail(new PeerFailureException("rank " + peer + " is gone: " + reason + " [detected by rank " + rank + "]",
                List.of(peer), cause), true);
    }

    @Override
    public CollectiveException timedOut(Fingerprint fp, int waitingOn) {
        return TimeoutDiagnosis.diagnose(rank, size, fp, options.timeout(), waitingOn, p -> control[p],
                p -> channels[p].authority());
    }

    @Override
    public void wake() {
        Thread t = collectiveThread;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    ProgressReply progress() {
        Fingerprint now = running;
        return ProgressReply.newBuilder().setRank(rank).setStartedSeq(startedSeq).setCompletedSeq(completedSeq)
                .setCurrent(now == null ? "" : now.toString()).build();
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * The running collective sees the failure at its next wait and lets go of its buffers before its
     * work fails; only then is queued work failed, in issue order, so no buffer of a failed work is
     * read or written afterwards (each wait is bounded: a thread that does not stop in 5 s is given up).
     */
    @Override
    public void abort(String reason) {
        fail(new CommunicatorAbortedException("rank " + rank + " aborted the communicator: " + reason, List.of(), null), true);
        closed = true;
        executor.shutdownNow();
        awaitTermination(Duration.ofSeconds(5));
        awaitCallerThreadRun(Duration.ofSeconds(5));
        for (Work.Completion w : pending) {
            finish(w, notRun(w.work().fingerprint()));
        }
        // Let the abort notices leave before the channels close under them.
        for (var notice : notices) {
            try {
                notice.get(NOTICE_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (Exception unreachablePeer) {
                // that peer learns from the closed connection instead
            }
        }
        shutdownTransport();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        executor.shutdown(); // queued work still runs; each has its own timeout
        awaitTermination(options.timeout().plusSeconds(10));
        awaitCallerThreadRun(options.timeout().plusSeconds(10));
        for (PeerLink link : links) {
            if (link != null) {
                link.halfClose();
            }
        }
        shutdownTransportAfter(Duration.ofSeconds(2));
    }

    /** Waits for a collective running on a caller's thread to end (after a failure it ends at its next wait). */
    private void awaitCallerThreadRun(Duration d) {
        try {
            if (runningLock.tryLock(d.toMillis(), TimeUnit.MILLISECONDS)) {
                runningLock.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitTermination(Duration d) {
        try {
            if (!executor.awaitTermination(d.toMillis(), TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits up to {@code grace} until the peers have acknowledged our half-close (so they record a
     * graceful close, not a lost peer), then tears everything down.
     */
    private void shutdownTransportAfter(Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        for (PeerLink link : links) {
            while (link != null && link.outboundClosed() == null && System.nanoTime() < deadline) {
                LockSupport.parkNanos(this, 10_000_000L);
            }
        }
        shutdownTransport();
    }

    private void shutdownTransport() {
        for (PeerLink link : links) {
            if (link != null) {
                link.closeNow();
            }
        }
        if (tcpListener != null) {
            tcpListener.close();
        }
        for (ManagedChannel channel : channels) {
            if (channel != null) {
                channel.shutdownNow();
            }
        }
        if (server != null) {
            server.shutdownNow();
            try {
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (PeerLink link : links) {
            if (link != null) {
                link.drainInbox();
            }
        }
    }

    /** Test hook: dies like a killed process would: connections drop, nobody is told. */
    void crashForTest() {
        closed = true;
        failure = new CommunicatorAbortedException("rank " + rank + " crashed (test)", List.of(rank), null);
        executor.shutdownNow();
        for (Work.Completion w : pending) {
            finish(w, failure);
        }
        shutdownTransport();
    }

    /** Test hook: frames a thread of this rank still sends from a caller's buffer. */
    int framesReadingCallerBuffers() {
        int n = 0;
        for (PeerLink link : links) {
            n += link == null ? 0 : link.framesReadingCallerBuffers();
        }
        return n;
    }

    /** The raw TCP data-plane port, or -1 without one. */
    int tcpPort() {
        return tcpListener == null ? -1 : tcpListener.port();
    }

    /** The data-plane port, or -1 for a group of one. */
    public int port() {
        return server == null ? -1 : ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    @Override
    public String toString() {
        return "HostCommunicator[rank " + rank + " of " + size + (failure != null ? ", failed" : "") + (closed ? ", closed" : "") + "]";
    }
}
