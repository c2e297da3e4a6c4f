package dev.trainyard.runtime;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What a class logged while an action ran, as {@code LEVEL message} lines. The tests' SLF4J
 * provider is java.util.logging (slf4j-jdk14), so a handler on the class's logger sees every record.
 */
public final class LogCapture {
    /** The code under test; may throw. */
    public interface Action {
        void run() throws Exception;
    }

    private LogCapture() {
    }

    public static List<String> of(Class<?> loggingClass, Action action) throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler keep = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getLevel() + " " + r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger jul = Logger.getLogger(loggingClass.getName());
        jul.addHandler(keep);
        try {
            action.run();
        } finally {
            jul.removeHandler(keep);
        }
        return lines;
    }
}
