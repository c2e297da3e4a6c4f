package dev.trainyard.collectives.host;

import dev.trainyard.collectives.grpc.proto.AbortReply;
import dev.trainyard.collectives.grpc.proto.AbortRequest;
import dev.trainyard.collectives.grpc.proto.PeerControlGrpc;
import dev.trainyard.collectives.grpc.proto.ProgressReply;
import dev.trainyard.collectives.grpc.proto.ProgressRequest;
import io.grpc.stub.StreamObserver;

/** Answers peers' progress queries and takes their abort notices; never blocks. */
final class PeerControlService extends PeerControlGrpc.PeerControlImplBase {
    private final HostCommunicator comm;

    PeerControlService(HostCommunicator comm) {
        this.comm = comm;
    }

    @Override
    public void progress(ProgressRequest request, StreamObserver<ProgressReply> out) {
        out.onNext(comm.progress());
        out.onCompleted();
    }

    @Override
    public void abort(AbortRequest request, StreamObserver<AbortReply> out) {
        comm.abortedByPeer(request);
        out.onNext(AbortReply.getDefaultInstance());
        out.onCompleted();
    }
}
