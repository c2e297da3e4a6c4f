package dev.trainyard.launcher.plan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.HashMap;
import java.util.Map;

/**
 * Points NCCL's own sockets at the interface that owns {@code --bind}. NCCL bootstraps over TCP on an interface of
 * its own choosing (the first non-loopback one, or whatever {@code NCCL_SOCKET_IFNAME} says); left alone it would
 * listen on, say, a public interface while the job was meant to stay on the cluster network. NCCL's sockets carry no
 * authentication of any kind, so the least the launcher can do is keep them on the network the user chose.
 */
public final class NcclSocketEnv {
    static final String IFNAME = "NCCL_SOCKET_IFNAME";
    static final String FAMILY = "NCCL_SOCKET_FAMILY";

    private NcclSocketEnv() {}

    /**
     * The variables for a node bound to {@code bind}: empty for a wildcard address (any interface is the user's
     * choice then) and for variables the user already set (theirs win).
     */
    public static Map<String, String> forBind(String bind, Map<String, String> inherited) {
        Map<String, String> env = new HashMap<>();
        InetAddress address;
        try {
            address = InetAddress.getByName(bind);
        } catch (IOException e) {
            throw new UncheckedIOException("--bind " + bind + " does not resolve: " + e.getMessage(), e);
        }
        if (address.isAnyLocalAddress()) {
            return env;
        }
        NetworkInterface nic;
        try {
            nic = NetworkInterface.getByInetAddress(address);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list this host's network interfaces: " + e.getMessage(), e);
        }
        if (nic == null) {
            if (address.isLoopbackAddress()) {
                nic = loopback();
            }
            if (nic == null) {
                return env; // an address of another host (a misconfiguration the store bind reports on its own)
            }
        }
        if (!inherited.containsKey(IFNAME)) {
            env.put(IFNAME, "=" + nic.getName()); // '=': exactly this interface, not every name it prefixes
        }
        if (!inherited.containsKey(FAMILY)) {
            env.put(FAMILY, address instanceof Inet6Address ? "AF_INET6" : "AF_INET");
        }
        return env;
    }

    // 127.0.0.2 and the like are loopback addresses without being assigned to lo
    private static NetworkInterface loopback() {
        try {
            return NetworkInterface.networkInterfaces().filter(n -> {
                try {
                    return n.isLoopback();
                } catch (IOException e) {
                    return false;
                }
            }).findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }
}
