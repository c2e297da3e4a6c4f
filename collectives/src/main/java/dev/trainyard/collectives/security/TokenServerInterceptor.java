package dev.trainyard.collectives.security;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Closes calls without a valid, fresh proof of the job token, and logs who tried, before any service code runs. */
final class TokenServerInterceptor implements ServerInterceptor {
    private final CallProof proofs;
    private final RejectionLog rejections;

    TokenServerInterceptor(CallProof proofs, String serviceName) {
        this.proofs = proofs;
        this.rejections = new RejectionLog(serviceName);
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        String why = proofs.refusal(headers.get(JobToken.HEADER), method, System.currentTimeMillis());
        if (why == null) {
            return next.startCall(call, headers);
        }
        rejections.refused(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), method, why);
        call.close(Status.UNAUTHENTICATED.withDescription(why + "; use the token the launcher handed to this job"), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
