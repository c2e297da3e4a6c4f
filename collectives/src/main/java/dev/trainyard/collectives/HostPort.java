package dev.trainyard.collectives;

/**
 * Endpoints as text, {@code host:port}, with IPv6 literals in brackets ({@code [::1]:29500}) so the
 * last colon is always the port's and gRPC targets parse. Published through the store and printed
 * in errors, so the form must be one.
 */
public final class HostPort {
    private HostPort() {
    }

    /** {@code host:port}, or {@code [host]:port} for an IPv6 literal. */
    public static String format(String host, int port) {
        return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
    }

    /** The host of an endpoint {@link #format} wrote, without brackets (what {@code InetSocketAddress} takes). */
    public static String host(String endpoint) {
        String h = endpoint.substring(0, endpoint.lastIndexOf(':'));
        return h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }

    /** The port of an endpoint {@link #format} wrote. */
    public static int port(String endpoint) {
        return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
    }
}
