package dev.trainyard.collectives;

/** What carries tensor frames between ranks. Rendezvous, control and failure notices always use gRPC. */
public enum Transport {
    /** Raw TCP connections authenticated with the job token: no HTTP/2 framing, the kernel's copy is the only one. */
    TCP,
    /** Messages of long-lived gRPC client streams with a ByteBuffer marshaller. */
    GRPC_STREAM
}
