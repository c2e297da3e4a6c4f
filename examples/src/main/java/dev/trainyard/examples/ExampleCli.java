package dev.trainyard.examples;

import picocli.CommandLine;

/** Runs an example's command line the way every example does. */
final class ExampleCli {
    private ExampleCli() {
    }

    /**
     * Bad input ends the worker with one line naming the problem and exit 2 (picocli would print
     * the whole usage text); any other failure exits non-zero; success returns.
     */
    static void run(Object command, String[] args) {
        int code = commandLine(command).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    /** The command as {@link #run} executes it, without exiting. */
    static CommandLine commandLine(Object command) {
        CommandLine cli = new CommandLine(command);
        cli.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println(e.getCommandLine().getCommandName() + ": " + e.getMessage() + " (see --help)");
            return 2;
        });
        return cli;
    }
}
