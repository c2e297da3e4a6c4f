package dev.trainyard.collectives.grpc;

/** Message type of the data-plane stream: {@link OutboundFrame} when sending, {@link InboundFrame} when parsed. */
interface Frame {
}
