package dev.trainyard.launcher;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Formatter;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;

/**
 * How the {@code trainyard} command and its workers print log lines. SLF4J goes to
 * java.util.logging (the slf4j-jdk14 provider the launcher ships); {@link Setup} gives it one
 * console handler on stderr at INFO whose {@link Lines} print Trainyard's own lines as
 * {@code trainyard: <message>} (the form users have always seen) and other libraries' (DJL, gRPC)
 * with their level and logger. A user's configuration wins: {@code -Djava.util.logging.config.file=...}
 * in {@code JAVA_OPTS} applies to the launcher and is passed on to its workers; one in
 * {@code --jvm-opt} applies to the workers alone.
 */
public final class LogFormat {
    static final String CONFIG_FILE = "java.util.logging.config.file";
    static final String CONFIG_CLASS = "java.util.logging.config.class";
    static final String MANAGER = "java.util.logging.manager";

    private LogFormat() {
    }

    /** For this JVM; call before anything logs (java.util.logging reads its configuration once). */
    static void applyHere() {
        if (System.getProperty(MANAGER) == null) {
            System.setProperty(MANAGER, KeepsHandlersAtExit.class.getName());
        }
        if (System.getProperty(CONFIG_FILE) == null && System.getProperty(CONFIG_CLASS) == null) {
            System.setProperty(CONFIG_CLASS, Setup.class.getName());
        }
    }

    /**
     * JVM options that give a worker the launcher's logging: the user's configuration file if the
     * launcher was given one, else {@link Setup}; nothing when the worker's own options configure it.
     */
    public static List<String> workerJvmOptions(List<String> userJvmOptions) {
        if (userJvmOptions.stream().anyMatch(o -> o.startsWith("-D" + CONFIG_FILE + "=") || o.startsWith("-D" + CONFIG_CLASS + "="))) {
            return List.of();
        }
        List<String> options = new ArrayList<>();
        if (userJvmOptions.stream().noneMatch(o -> o.startsWith("-D" + MANAGER + "="))) {
            options.add("-D" + MANAGER + "=" + KeepsHandlersAtExit.class.getName());
        }
        String file = System.getProperty(CONFIG_FILE);
        options.add(file != null ? "-D" + CONFIG_FILE + "=" + Path.of(file).toAbsolutePath() : "-D" + CONFIG_CLASS + "=" + Setup.class.getName());
        return options;
    }

    /**
     * java.util.logging's own shutdown hook closes every handler, while the launcher's stop-signal
     * hook (running at the same time) still has lines to print: "stop signal received", the failure,
     * the report. This manager ignores that one reset, so nothing said during shutdown is lost;
     * handlers flush per record, so none is left unwritten.
     */
    public static final class KeepsHandlersAtExit extends LogManager {
        @Override
        public void reset() {
            if (!Thread.currentThread().getClass().getName().equals("java.util.logging.LogManager$Cleaner")) {
                super.reset();
            }
        }
    }

    /** java.util.logging's configuration class (it instantiates it by name): one stderr handler, INFO, {@link Lines}. */
    public static final class Setup {
        public Setup() {
            String config = "handlers=java.util.logging.ConsoleHandler\n"
                    + ".level=INFO\n"
                    + "java.util.logging.ConsoleHandler.level=ALL\n"
                    + "java.util.logging.ConsoleHandler.formatter=" + Lines.class.getName() + "\n";
            try {
                LogManager.getLogManager().readConfiguration(new ByteArrayInputStream(config.getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** {@code trainyard: <message>} for Trainyard's loggers; {@code LEVEL logger - message} for everybody else's. */
    public static final class Lines extends Formatter {
        @Override
        public String format(LogRecord r) {
            String name = r.getLoggerName();
            boolean ours = name == null || name.equals(Console.LOGGER) || name.startsWith("dev.trainyard.");
            StringBuilder line = new StringBuilder(ours ? "trainyard: " : r.getLevel() + " " + name + " - ").append(formatMessage(r));
            if (r.getThrown() != null) {
                StringWriter trace = new StringWriter();
                r.getThrown().printStackTrace(new PrintWriter(trace));
                line.append(System.lineSeparator()).append(trace);
            }
            return line.append(System.lineSeparator()).toString();
        }
    }
}
