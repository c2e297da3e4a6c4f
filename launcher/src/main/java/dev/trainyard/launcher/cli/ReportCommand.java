package dev.trainyard.launcher.cli;

import dev.trainyard.launcher.UsageException;

import dev.trainyard.runtime.RunLayout;
import dev.trainyard.launcher.report.RunReports;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalDouble;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code trainyard report RUN_DIR [--baseline OTHER_RUN_DIR] [--target-accuracy A]}: (re)generates a run's report. */
@Command(name = "report", mixinStandardHelpOptions = true, usageHelpAutoWidth = true,
        description = "Write report.json, report.html and timeline.json from a run directory's metrics, events and attempts.")
public final class ReportCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "a run directory (--run-dir of the launch)")
    Path runDir;
    @Option(names = "--baseline", paramLabel = "RUN_DIR", description = "another run (e.g. 1 worker) to compute scaling efficiency against")
    Path baseline;
    @Option(names = "--target-accuracy", paramLabel = "A", description = "report the time until the job first reported accuracy >= A")
    Double targetAccuracy;

    @Override
    public Integer call() {
        if (targetAccuracy != null && !(targetAccuracy > 0 && targetAccuracy <= 1)) {
            throw new UsageException("--target-accuracy must be in (0, 1], got " + targetAccuracy);
        }
        try {
            String summary = RunReports.write(runDir, baseline, targetAccuracy == null ? OptionalDouble.empty() : OptionalDouble.of(targetAccuracy));
            System.out.println(summary);
            System.out.println("report: " + RunLayout.reportHtml(runDir) + " (timeline: " + RunLayout.timeline(runDir) + ")");
            return 0;
        } catch (IOException | RuntimeException e) {
            throw new UsageException("cannot report on " + runDir + ": " + e.getMessage(), e);
        }
    }
}
