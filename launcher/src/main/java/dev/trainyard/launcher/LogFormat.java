package dev.trainyard.launcher;

import java.util.List;

/**
 * How the {@code trainyard} command and its workers print log lines: SLF4J goes to
 * java.util.logging (the slf4j-jdk14 provider the launcher ships), whose console handler writes
 * {@code trainyard: <message>} to stderr, the form users have always seen. A user who sets the
 * format or a whole logging configuration ({@code -Djava.util.logging.config.file=...}, in
 * {@code JAVA_OPTS} for the launcher or {@code --jvm-opts} for workers) overrides it.
 */
public final class LogFormat {
    static final String PROPERTY = "java.util.logging.SimpleFormatter.format";
    /** Message and, if any, the stack trace: levels show in the text only where the line says {@code warning:}. */
    static final String FORMAT = "trainyard: %5$s%6$s%n";

    private LogFormat() {
    }

    /** For this JVM; call before anything logs (the handler reads the format when it is created). */
    static void applyHere() {
        if (System.getProperty(PROPERTY) == null) {
            System.setProperty(PROPERTY, FORMAT);
        }
    }

    /** JVM options that give a worker the same format; put them before the user's, which then win. */
    public static List<String> workerJvmOptions() {
        return List.of("-D" + PROPERTY + "=" + FORMAT);
    }
}
