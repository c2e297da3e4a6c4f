package dev.trainyard.collectives.security;

import java.util.logging.Filter;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * gRPC's Netty server logs every connection that fails before HTTP/2 begins (a port scan, a client
 * that is not gRPC, a flood of junk bytes) as "Transport failed" with a 30-line stack trace, at
 * INFO. A flood of such connections wrote one trace each: megabytes of logs a minute and most of a
 * core on a 2-core machine, enough to slow a job's start from 6 to 10 s in a test. Those records go
 * through a {@link RejectionLog} instead: one line per minute with the count. gRPC does not report
 * the peer's address there, so the source is named as unknown.
 */
public final class TransportFailureLog {
    /** gRPC logs a connection's end on this logger (the transport class name plus ".connections"). */
    static final String NETTY_SERVER_TRANSPORT = "io.grpc.netty.shaded.io.grpc.netty.NettyServerTransport.connections";
    /** Held strongly: java.util.logging keeps loggers weakly, and a collected logger would lose the filter. */
    private static final Logger GRPC_TRANSPORT = Logger.getLogger(NETTY_SERVER_TRANSPORT);
    private static final RejectionLog REJECTIONS = new RejectionLog("gRPC server of this process");

    static {
        Filter previous = GRPC_TRANSPORT.getFilter();
        GRPC_TRANSPORT.setFilter(record -> {
            if (record.getLevel().intValue() <= Level.INFO.intValue() && "Transport failed".equals(record.getMessage())) {
                Throwable t = record.getThrown();
                REJECTIONS.refused("an address gRPC does not report", "a connection",
                        "it did not speak HTTP/2 (" + (t == null ? "no cause" : t.getClass().getSimpleName() + ": " + firstLine(t)) + ")");
                return false;
            }
            return previous == null || previous.isLoggable(record);
        });
    }

    private TransportFailureLog() {
    }

    /** Installs the filter (once per JVM); every gRPC server calls this before it starts. */
    public static void install() {
        // the static initializer did the work
    }

    private static String firstLine(Throwable t) {
        String m = String.valueOf(t.getMessage());
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
