package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** The console's log lines and who decides the workers' logging configuration. */
class LogFormatTest {
    private static String line(String logger, Level level, String message, Object... params) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName(logger);
        r.setParameters(params.length == 0 ? null : params);
        return new LogFormat.Lines().format(r);
    }

    @Test
    void trainyardsLinesReadAsTheyAlwaysHaveAndOthersNameTheirSource() {
        String nl = System.lineSeparator();
        assertEquals("trainyard: rendezvous store listening on 127.0.0.1:29500" + nl,
                line(Console.LOGGER, Level.INFO, "rendezvous store listening on 127.0.0.1:29500"));
        assertEquals("trainyard: warning: no TLS" + nl, line(Console.LOGGER, Level.WARNING, "warning: no TLS"));
        assertEquals("trainyard: rank 3: frames to 2 of 2 peers" + nl,
                line("dev.trainyard.collectives.host.HostCommunicator", Level.INFO, "rank {0}: frames to {1} of {1} peers", 3, 2));
        assertEquals("WARNING ai.djl.util.cuda.CudaUtils - Failed to detect GPU count" + nl,
                line("ai.djl.util.cuda.CudaUtils", Level.WARNING, "Failed to detect GPU count"));
        LogRecord failed = new LogRecord(Level.SEVERE, "cannot write");
        failed.setLoggerName("dev.trainyard.runtime.ErrorFile");
        failed.setThrown(new IllegalStateException("disk full"));
        String text = new LogFormat.Lines().format(failed);
        assertTrue(text.startsWith("trainyard: cannot write" + nl + "java.lang.IllegalStateException: disk full"), text);
    }

    @Test
    void aConfigurationInTheWorkersOwnOptionsWinsOverTheLaunchers() {
        assertEquals(List.of(), LogFormat.workerJvmOptions(List.of("-Xmx1g", "-Djava.util.logging.config.file=/etc/quiet.properties")));
        String mine = System.getProperty(LogFormat.CONFIG_FILE);
        try {
            System.clearProperty(LogFormat.CONFIG_FILE);
            String manager = "-Djava.util.logging.manager=" + LogFormat.KeepsHandlersAtExit.class.getName();
            assertEquals(List.of(manager, "-Djava.util.logging.config.class=" + LogFormat.Setup.class.getName()),
                    LogFormat.workerJvmOptions(List.of("-Xmx1g")));
            System.setProperty(LogFormat.CONFIG_FILE, "/etc/quiet.properties");
            assertEquals(List.of(manager, "-Djava.util.logging.config.file=/etc/quiet.properties"), LogFormat.workerJvmOptions(List.of()),
                    "the launcher's own configuration file is passed on");
        } finally {
            if (mine == null) {
                System.clearProperty(LogFormat.CONFIG_FILE);
            } else {
                System.setProperty(LogFormat.CONFIG_FILE, mine);
            }
        }
    }
}
