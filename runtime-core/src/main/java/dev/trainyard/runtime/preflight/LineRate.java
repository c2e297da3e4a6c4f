package dev.trainyard.runtime.preflight;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;

/** What a link should reach: the line rate of the interface that carries the bind address, from sysfs. */
final class LineRate {
    private LineRate() {
    }

    static String of(String bindHost) {
        try {
            InetAddress a = InetAddress.getByName(bindHost);
            if (a.isLoopbackAddress()) {
                return "loopback: no line rate to compare with (memory-bound)";
            }
            NetworkInterface nic = NetworkInterface.getByInetAddress(a);
            if (nic == null) {
                return "interface of " + bindHost + " not found";
            }
            Path speed = Path.of("/sys/class/net", nic.getName(), "speed");
            long mbits = Long.parseLong(Files.readString(speed).strip());
            if (mbits <= 0) {
                return nic.getName() + " reports no line rate";
            }
            return String.format("%s line rate %.1f GB/s", nic.getName(), mbits / 8000.0);
        } catch (IOException | NumberFormatException e) {
            return "line rate unknown (" + e.getMessage() + ")";
        }
    }
}
