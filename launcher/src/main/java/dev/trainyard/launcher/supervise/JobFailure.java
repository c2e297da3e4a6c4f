package dev.trainyard.launcher.supervise;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The first failure of a generation, as every node's launcher reports it: the exit status to
 * leave with, one summary line and the failed rank's last log lines.
 */
public record JobFailure(int exitCode, String summary, List<String> detail) {

    byte[] encode() {
        StringBuilder sb = new StringBuilder().append(exitCode).append('\n').append(summary.replace('\n', ' '));
        detail.forEach(l -> sb.append('\n').append(l));
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    static JobFailure decode(byte[] bytes) {
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
        return new JobFailure(Integer.parseInt(lines[0]), lines.length > 1 ? lines[1] : "",
                lines.length > 2 ? Arrays.asList(lines).subList(2, lines.length) : List.of());
    }
}
