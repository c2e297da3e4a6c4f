package dev.trainyard.collectives.host.transport;

/** Message type of the data-plane stream: {@link OutboundFrame} when sending, {@link InboundFrame} when parsed. */
public interface Frame {
}
