package dev.trainyard.runtime;

import java.lang.reflect.InvocationTargetException;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.List;
import dev.trainyard.runtime.preflight.Preflight;

/**
 * What the launcher runs in every worker JVM: {@code WorkerMain <main-class> [args...]}. Before
 * the user's {@code main} it runs the {@link Preflight} checks when the launcher asks for them,
 * starts the {@link LauncherWatch} and a shutdown hook that takes the
 * worker's child processes down with it (SIGTERM from the launcher), so user code needs nothing
 * for the no-orphans guarantee. When {@code main} returns the JVM exits with 0 even if the program
 * left threads running; an uncaught exception prints its stack trace, records it in the
 * {@link ErrorFile} for the launcher's report and exits with 1.
 */
public final class WorkerMain {
    private WorkerMain() {
    }

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: WorkerMain <main-class> [args...] (started by './trainyard launch')");
            System.exit(2);
        }
        // Nothing is downloaded at run time: DJL uses the native libraries from its jars.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        WorkerContext ctx;
        try {
            ctx = WorkerContext.current();
        } catch (IllegalStateException e) {
            System.err.println("trainyard worker: " + e.getMessage());
            System.exit(2);
            return;
        }
        ctx.launcherPid().ifPresent(LauncherWatch::start);
        Runtime.getRuntime().addShutdownHook(new Thread(
                () -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy), "trainyard-stop-children"));
        // JVM start to here: process spawn, JVM boot and class loading, for the report's time to first step
        long jvmStartMicros = ManagementFactory.getRuntimeMXBean().getStartTime() * 1000;
        RunEvents.spanMicros("jvm_start", jvmStartMicros, (RunEvents.micros(System.nanoTime()) - jvmStartMicros) / 1e6);
        List<String> programArgs = Arrays.asList(args).subList(1, args.length);
        PreflightMode preflight = ctx.startup().preflight();
        if (preflight != PreflightMode.OFF) {
            long t0 = System.nanoTime();
            boolean ok = new Preflight(ctx, args[0], programArgs, ctx.startup().minFreeDisk(), preflight.measuresLinks(),
                    preflight != PreflightMode.ONLY).run(System.out);
            RunEvents.span("preflight", t0, System.nanoTime());
            if (!ok || preflight == PreflightMode.ONLY) {
                System.out.flush();
                System.exit(ok ? 0 : Preflight.FAILED);
            }
        }
        int status = 0;
        try {
            mainMethod(args[0]).invoke(null, (Object) Arrays.copyOfRange(args, 1, args.length));
        } catch (InvocationTargetException e) {
            System.err.print("trainyard worker: " + args[0] + ".main failed: ");
            e.getCause().printStackTrace();
            recordError(ctx, args[0], e.getCause());
            status = 1;
        } catch (ReflectiveOperationException e) {
            System.err.println("trainyard worker: cannot run " + args[0] + ": " + e);
            status = 2;
        }
        System.out.flush();
        System.exit(status);
    }

    /** Leaves the stack trace where the launcher reports it from (only under the launcher). */
    private static void recordError(WorkerContext ctx, String mainClass, Throwable error) {
        if (!ctx.standalone()) {
            ErrorFile.write(ErrorFile.of(ctx.runDir(), ctx.rank()), mainClass + ".main failed on rank " + ctx.rank() + ":", error);
        }
    }

    private static Method mainMethod(String className) throws ReflectiveOperationException {
        Method m = Class.forName(className).getMethod("main", String[].class);
        if (!Modifier.isStatic(m.getModifiers())) {
            throw new NoSuchMethodException(className + ".main(String[]) is not static");
        }
        return m;
    }
}
