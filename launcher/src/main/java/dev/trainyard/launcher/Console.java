package dev.trainyard.launcher;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the launcher tells its user what is happening: one line at a time, each a complete
 * message. The standard console logs through SLF4J under the logger {@value #LOGGER}, so a
 * product that embeds the launcher, or a user's logging configuration, can route or silence it
 * like any other log; the {@code trainyard} command prints it as {@code trainyard: <line>} on
 * stderr. Tests pass a console that keeps the lines.
 */
public interface Console {
    /** The logger the launcher's own lines go to. */
    String LOGGER = "trainyard";

    void say(String line);

    /** A warning: something works, but not as the user probably wants. */
    default void warn(String line) {
        say("warning: " + line);
    }

    /** Lines at INFO, warnings at WARN, so a logging configuration can keep only the warnings. */
    static Console standard() {
        Logger log = LoggerFactory.getLogger(LOGGER);
        return new Console() {
            @Override
            public void say(String line) {
                log.info(line);
            }

            @Override
            public void warn(String line) {
                log.warn("warning: " + line);
            }
        };
    }
}
