package dev.trainyard.bench;

import picocli.CommandLine;

/** Runs a benchmark command: bad input and failed runs end with one line that says what to fix (exit 2), not a stack trace. */
final class BenchCli {
    private BenchCli() {
    }

    static void run(Object command, String[] args) {
        System.exit(commandLine(command).execute(args));
    }

    /** The command as {@link #run} executes it, without exiting. */
    static CommandLine commandLine(Object command) {
        return new CommandLine(command).setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("trainyard bench " + cmd.getCommandName() + ": " + e.getMessage());
            return 2;
        });
    }
}
