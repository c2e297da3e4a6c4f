package dev.trainyard.launcher;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Two simulated hosts on one machine: network namespaces joined by a veth pair, with addresses
 * {@code 10.231.X.1} and {@code 10.231.X.2}. Needs root and iproute2; {@link #unavailableReason()} says why not.
 */
final class NetworkNamespaces implements AutoCloseable {
    private final List<String> names = new ArrayList<>();
    private final String subnet;

    private NetworkNamespaces(String subnet) {
        this.subnet = subnet;
    }

    /** Null when namespaces can be made here, else why not (the test is skipped with it). */
    static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "needs root to create network namespaces (running as " + System.getProperty("user.name") + ")";
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip"))) {
            return "needs iproute2's 'ip' (apt-get install iproute2)";
        }
        return null;
    }

    static NetworkNamespaces pair() throws IOException, InterruptedException {
        int id = ThreadLocalRandom.current().nextInt(1, 250);
        NetworkNamespaces ns = new NetworkNamespaces("10.231." + id + ".");
        String tag = Long.toString(ProcessHandle.current().pid() % 100000) + id;
        try {
            for (int i = 0; i < 2; i++) {
                String name = "ty" + tag + "n" + i;
                ip("netns", "add", name);
                ns.names.add(name);
                ip("-n", name, "link", "set", "lo", "up");
            }
            String a = "tya" + tag;
            String b = "tyb" + tag;
            ip("link", "add", a, "netns", ns.names.get(0), "type", "veth", "peer", "name", b, "netns", ns.names.get(1));
            ip("-n", ns.names.get(0), "addr", "add", ns.address(0) + "/24", "dev", a);
            ip("-n", ns.names.get(1), "addr", "add", ns.address(1) + "/24", "dev", b);
            ip("-n", ns.names.get(0), "link", "set", a, "up");
            ip("-n", ns.names.get(1), "link", "set", b, "up");
            return ns;
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
    }

    String address(int host) {
        return subnet + (host + 1);
    }

    /** Command prefix that runs a program inside host {@code i}. */
    List<String> exec(int host) {
        return List.of("ip", "netns", "exec", names.get(host));
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (String n : names) {
            ip("netns", "del", n); // deleting a namespace also removes its end of the veth pair
        }
    }
}
