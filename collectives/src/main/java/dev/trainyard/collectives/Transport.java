package dev.trainyard.collectives;

/** What carries tensor frames between ranks. Rendezvous, control and failure notices always use gRPC. */
public enum Transport {
    /**
     * Shared memory between ranks that share a host (proved by mapping the peer's segment), raw TCP
     * between the others. Peers on shared memory keep their TCP connection to notice a peer's death.
     */
    SHARED_MEMORY,
    /** Raw TCP connections authenticated with the job token: no HTTP/2 framing, the kernel's copy is the only one. */
    TCP,
    /** Messages of long-lived gRPC client streams with a ByteBuffer marshaller. */
    GRPC_STREAM;

    /** The name on the command line: {@code shared-memory}, {@code tcp}, {@code grpc-stream}. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The transport named {@code name} (its command-line name, any case). */
    public static Transport parse(String name) {
        for (Transport t : values()) {
            if (t.cliName().equalsIgnoreCase(name) || t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown transport '" + name + "'; use shared-memory, tcp or grpc-stream");
    }

    /** True when frames between hosts travel on raw TCP connections. */
    public boolean rawTcp() {
        return this != GRPC_STREAM;
    }
}
