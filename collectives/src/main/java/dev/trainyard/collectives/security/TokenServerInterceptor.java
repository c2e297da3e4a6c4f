package dev.trainyard.collectives.security;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Closes calls that lack the job token, and logs who tried, before any service code runs. */
final class TokenServerInterceptor implements ServerInterceptor {
    private static final System.Logger LOG = System.getLogger(TokenServerInterceptor.class.getName());
    private final JobToken token;
    private final String serviceName;

    TokenServerInterceptor(JobToken token, String serviceName) {
        this.token = token;
        this.serviceName = serviceName;
    }

    @Override
    public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
            ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
        String presented = headers.get(JobToken.HEADER);
        if (token.matches(presented)) {
            return next.startCall(call, headers);
        }
        String why = presented == null ? "missing job token" : "wrong job token";
        LOG.log(System.Logger.Level.WARNING, "{0}: refused {1} from {2}: {3}", serviceName,
                call.getMethodDescriptor().getFullMethodName(), call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), why);
        call.close(Status.UNAUTHENTICATED.withDescription(why + " (header " + JobToken.HEADER_NAME
                + "); use the token the launcher handed to this job"), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
