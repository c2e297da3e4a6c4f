package dev.trainyard.launcher;

import dev.trainyard.launcher.cli.LaunchCommand;
import dev.trainyard.launcher.cli.PreflightCommand;
import dev.trainyard.launcher.cli.ReportCommand;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code trainyard <command>}: the launcher's command line (the {@code ./trainyard} script runs this). */
@Command(name = "trainyard", mixinStandardHelpOptions = true, version = "trainyard 0.1.0",
        subcommands = {LaunchCommand.class, PreflightCommand.class, ReportCommand.class},
        description = "Distributed data-parallel training for the JVM.")
public final class TrainyardCli implements Runnable {

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        LogFormat.applyHere();
        System.exit(execute(args));
    }

    static int execute(String... args) {
        CommandLine cli = new CommandLine(new TrainyardCli());
        // launch and preflight pass everything after the program through to it; report takes options anywhere
        cli.getSubcommands().values().forEach(c -> c.setStopAtPositional(c.getCommand() instanceof LaunchCommand));
        // a mistyped value is one line naming it, not the whole usage text
        cli.setParameterExceptionHandler((e, args1) -> {
            String command = e.getCommandLine().getCommandName();
            System.err.println("trainyard " + command + ": " + e.getMessage() + "; see 'trainyard " + command + " --help'");
            return 2;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof UsageException) {
                System.err.println("trainyard " + cmd.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            throw e;
        });
        return cli.execute(args);
    }
}
