package dev.trainyard.collectives.host.algorithm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which ranks share a host, as every rank published it: ranks with equal host identities, hosts
 * ordered by their lowest rank, each host's ranks in rank order. Every rank computes the same
 * groups from the same published list, so the hierarchical all-reduce's subgroups agree without
 * another exchange. A wrong identity costs speed, never correctness: the algorithm is right for
 * any split of the ranks into equal groups.
 *
 * @param hosts each host's ranks
 * @param host  this rank's host
 * @param local this rank's index among its host's ranks
 */
public record HostGroups(int[][] hosts, int host, int local) {

    public static HostGroups of(List<String> identities, int rank) {
        Map<String, List<Integer>> byIdentity = new LinkedHashMap<>();
        for (int r = 0; r < identities.size(); r++) {
            byIdentity.computeIfAbsent(identities.get(r), k -> new ArrayList<>()).add(r);
        }
        int[][] hosts = byIdentity.values().stream().map(rs -> rs.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        for (int h = 0; h < hosts.length; h++) {
            int i = Arrays.binarySearch(hosts[h], rank);
            if (i >= 0) {
                return new HostGroups(hosts, h, i);
            }
        }
        throw new IllegalArgumentException("rank " + rank + " is not among the " + identities.size() + " published identities");
    }

    /** Null when the hierarchical all-reduce applies; else why not, for the user. */
    public String whyNotHierarchical() {
        if (hosts.length < 2) {
            return "all " + hosts[0].length + " ranks share one host";
        }
        int[] sizes = Arrays.stream(hosts).mapToInt(h -> h.length).toArray();
        if (Arrays.stream(sizes).distinct().count() > 1) {
            return "the hosts have different numbers of ranks " + Arrays.toString(sizes);
        }
        if (sizes[0] < 2) {
            return "every host has one rank";
        }
        return null;
    }

    /** This host's ranks. */
    Ring inside() {
        return new Ring(hosts[host], local);
    }

    /** The ranks with this rank's local index, one per host. */
    Ring across() {
        int[] members = new int[hosts.length];
        for (int h = 0; h < hosts.length; h++) {
            members[h] = hosts[h][local];
        }
        return new Ring(members, host);
    }

    /** E.g. {@code 2 hosts x 2 ranks}. */
    public String describe() {
        return hosts.length + " hosts x " + hosts[0].length + " ranks";
    }
}
