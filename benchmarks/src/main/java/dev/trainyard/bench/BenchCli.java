package dev.trainyard.bench;

import picocli.CommandLine;

/** Runs a benchmark command: bad input and failed runs end with one line that says what to fix (exit 2), not a stack trace. */
final class BenchCli {
    private BenchCli() {
    }

    static void run(Object command, String[] args) {
        CommandLine cli = new CommandLine(command);
        System.exit(cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("trainyard bench " + cmd.getCommandName() + ": " + e.getMessage());
            return 2;
        }).execute(args));
    }
}
