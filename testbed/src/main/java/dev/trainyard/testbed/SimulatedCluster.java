package dev.trainyard.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Several "hosts" on one machine for tests and benchmarks: one network namespace per host with
 * address {@code 10.231.S.(i+1)}, joined by a veth pair (two hosts) or through a bridge in its
 * own namespace (more), every link optionally shaped with a {@code tc tbf} token bucket to a rate
 * such as {@code 1gbit} in both directions. Needs root and iproute2.
 */
public final class SimulatedCluster implements AutoCloseable {
    private static final Pattern RATE = Pattern.compile("(\\d+(?:\\.\\d+)?)(bit|kbit|mbit|gbit)", Pattern.CASE_INSENSITIVE);

    private final List<String> namespaces = new ArrayList<>();
    private final List<String> devices = new ArrayList<>();
    private final String subnet;
    private final String tag;

    private SimulatedCluster(String subnet, String tag) {
        this.subnet = subnet;
        this.tag = tag;
    }

    /** Null when namespaces can be made here, else why not and what to do. */
    public static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "simulated hosts need root (network namespaces); running as " + System.getProperty("user.name");
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            return "simulated hosts need iproute2's 'ip' and 'tc' (apt-get install iproute2)";
        }
        return namespacesRefused();
    }

    /** Root in a container may still lack the right to make namespaces: try once with a throwaway one. */
    private static String namespacesRefused() {
        String probe = "typrobe" + ProcessHandle.current().pid();
        try {
            ip("netns", "add", probe);
            ip("netns", "del", probe);
            return null;
        } catch (IOException e) {
            return "this machine refuses network namespaces (" + e.getMessage() + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while checking for network namespaces";
        }
    }

    /** Bits per second of a tc rate such as {@code 10gbit}, {@code 500mbit}. */
    public static long bitsPerSecond(String rate) {
        Matcher m = RATE.matcher(rate.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + rate + "' is not a link rate; write e.g. 1gbit, 10gbit or 500mbit");
        }
        double v = Double.parseDouble(m.group(1));
        return (long) switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "kbit" -> v * 1e3;
            case "mbit" -> v * 1e6;
            case "gbit" -> v * 1e9;
            default -> v;
        };
    }

    /** {@code hosts} namespaces, every link limited to {@code rate} when given. */
    public static SimulatedCluster create(int hosts, Optional<String> rate) throws IOException, InterruptedException {
        if (hosts < 2 || hosts > 250) {
            throw new IllegalArgumentException("a simulated cluster has 2 to 250 hosts, got " + hosts);
        }
        rate.ifPresent(SimulatedCluster::bitsPerSecond);
        int id = ThreadLocalRandom.current().nextInt(1, 250);
        SimulatedCluster c = new SimulatedCluster("10.231." + id + ".", Long.toString(ProcessHandle.current().pid() % 10000) + "x" + id);
        try {
            for (int i = 0; i < hosts; i++) {
                c.namespace("ty" + c.tag + "h" + i);
            }
            if (hosts == 2) {
                String a = "tya" + c.tag;
                String b = "tyb" + c.tag;
                ip("link", "add", a, "netns", c.namespaces.get(0), "type", "veth", "peer", "name", b, "netns", c.namespaces.get(1));
                c.configure(0, a, rate);
                c.configure(1, b, rate);
            } else {
                String bridgeNs = c.namespace("ty" + c.tag + "br");
                ip("-n", bridgeNs, "link", "add", "br0", "type", "bridge");
                ip("-n", bridgeNs, "link", "set", "br0", "up");
                for (int i = 0; i < hosts; i++) {
                    String hostEnd = "tyh" + i + "x" + c.tag;
                    String bridgeEnd = "tyb" + i + "x" + c.tag;
                    ip("link", "add", hostEnd, "netns", c.namespaces.get(i), "type", "veth", "peer", "name", bridgeEnd, "netns", bridgeNs);
                    ip("-n", bridgeNs, "link", "set", bridgeEnd, "master", "br0");
                    ip("-n", bridgeNs, "link", "set", bridgeEnd, "up");
                    if (rate.isPresent()) {
                        shape(bridgeNs, bridgeEnd, rate.get()); // traffic towards host i
                    }
                    c.configure(i, hostEnd, rate);
                }
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private String namespace(String name) throws IOException, InterruptedException {
        ip("netns", "add", name);
        namespaces.add(name);
        ip("-n", name, "link", "set", "lo", "up");
        return name;
    }

    private void configure(int host, String dev, Optional<String> rate) throws IOException, InterruptedException {
        String ns = namespaces.get(host);
        devices.add(dev);
        ip("-n", ns, "addr", "add", address(host) + "/24", "dev", dev);
        ip("-n", ns, "link", "set", dev, "up");
        if (rate.isPresent()) {
            shape(ns, dev, rate.get());
        }
    }

    /** Egress token bucket; the burst holds about 10 ms of traffic (at least 64 KiB) so TCP can still fill the link. */
    private static void shape(String ns, String dev, String rate) throws IOException, InterruptedException {
        long burstBytes = Math.max(64 << 10, bitsPerSecond(rate) / 8 / 100);
        run(List.of("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate,
                "burst", Long.toString(burstBytes), "latency", "100ms"));
    }

    /** Address of host {@code i} (0-based). */
    public String address(int host) {
        return subnet + (host + 1);
    }

    /** Host {@code i}'s network device (e.g. for {@code GLOO_SOCKET_IFNAME}). */
    public String device(int host) {
        return devices.get(host);
    }

    /** Cuts host {@code i} off the network (its link goes down), as a failed switch port or cable would. */
    public void cut(int host) throws IOException, InterruptedException {
        ip("-n", namespaces.get(host), "link", "set", devices.get(host), "down");
    }

    /** Command prefix that runs a program on host {@code i}. */
    public List<String> exec(int host) {
        return List.of("ip", "netns", "exec", namespaces.get(host));
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        run(cmd);
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
    }

    /** Deletes the namespaces; their veth ends and bridge go with them. */
    @Override
    public void close() throws IOException, InterruptedException {
        IOException first = null;
        for (String n : namespaces) {
            try {
                ip("netns", "del", n);
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        namespaces.clear();
        if (first != null) {
            throw first;
        }
    }
}
