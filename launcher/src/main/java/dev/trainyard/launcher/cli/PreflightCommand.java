package dev.trainyard.launcher.cli;

import dev.trainyard.runtime.PreflightMode;
import picocli.CommandLine.Command;

/**
 * {@code trainyard preflight [launch options] (MAIN_CLASS | JAR | --example NAME) [args]}: starts
 * the workers exactly as {@code launch} would, runs only the checks, prints rank 0's table and
 * exits non-zero (78) naming the failing check, in seconds rather than after a failed job.
 */
@Command(name = "preflight", sortOptions = false, usageHelpAutoWidth = true, mixinStandardHelpOptions = true,
        description = {"Check a job before running it: Java, DJL engine offline, backend, every rank reaching every other, "
                + "a checked all-reduce, bandwidth per link, free disk, the dataset. Takes the same options as launch."})
public final class PreflightCommand extends LaunchCommand {
    @Override
    PreflightMode preflight() {
        return PreflightMode.ONLY;
    }
}
