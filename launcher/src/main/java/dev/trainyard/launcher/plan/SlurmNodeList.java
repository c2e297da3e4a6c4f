package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;

/**
 * The first host of a SLURM node list such as {@code gpu[03-06,09],cpu1} (→ {@code gpu03}):
 * node 0 of the job, which hosts the rendezvous store. Zero padding is kept as written.
 */
public final class SlurmNodeList {
    private SlurmNodeList() {
    }

    static String firstHost(String nodeList) {
        String list = nodeList.strip();
        StringBuilder host = new StringBuilder();
        int i = 0;
        while (i < list.length()) {
            char c = list.charAt(i);
            if (c == ',') {
                break;
            }
            if (c == '[') {
                int close = list.indexOf(']', i);
                if (close < 0) {
                    throw new UsageException("cannot read SLURM node list '" + nodeList + "': unbalanced '['");
                }
                String first = list.substring(i + 1, close).split(",")[0].split("-")[0];
                host.append(first);
                i = close + 1;
            } else {
                host.append(c);
                i++;
            }
        }
        if (host.isEmpty()) {
            throw new UsageException("SLURM node list '" + nodeList + "' names no host");
        }
        return host.toString();
    }
}
