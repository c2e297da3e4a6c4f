package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;

import java.util.Map;
import java.util.Optional;

/**
 * What a scheduler already says about the job, used where the command line is silent:
 * SLURM ({@code SLURM_NNODES}, {@code SLURM_NODEID}, first host of {@code SLURM_JOB_NODELIST}
 * as master) or a Kubernetes Indexed Job ({@code JOB_COMPLETION_INDEX} as node rank; the master
 * address is the headless-service name of pod 0, given with {@code --master-addr}).
 */
public record ClusterEnvironment(String scheduler, Optional<Integer> nnodes, Optional<Integer> nodeRank,
                          Optional<String> masterAddr) {

    static ClusterEnvironment none() {
        return new ClusterEnvironment("none", Optional.empty(), Optional.empty(), Optional.empty());
    }

    public static ClusterEnvironment detect(Map<String, String> env) {
        if (env.containsKey("SLURM_NNODES") && env.containsKey("SLURM_NODEID")) {
            String nodeList = env.getOrDefault("SLURM_JOB_NODELIST", env.get("SLURM_NODELIST"));
            return new ClusterEnvironment("SLURM",
                    Optional.of(integer(env, "SLURM_NNODES")), Optional.of(integer(env, "SLURM_NODEID")),
                    Optional.ofNullable(nodeList).map(SlurmNodeList::firstHost));
        }
        if (env.containsKey("JOB_COMPLETION_INDEX")) {
            return new ClusterEnvironment("Kubernetes Indexed Job", Optional.empty(),
                    Optional.of(integer(env, "JOB_COMPLETION_INDEX")), Optional.empty());
        }
        return none();
    }

    private static int integer(Map<String, String> env, String name) {
        try {
            return Integer.parseInt(env.get(name).strip());
        } catch (NumberFormatException e) {
            throw new UsageException("environment variable " + name + "='" + env.get(name) + "' is not an integer");
        }
    }
}
