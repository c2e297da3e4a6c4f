package dev.trainyard.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.nccl.NcclProbe;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The DistributedTrainer against an independent computation: N worker processes with batch B
 * must end with the parameters of one process with batch N*B on the same data order.
 */
class DistributedTrainingTest {
    private static final Duration RUN = Duration.ofSeconds(180);
    private static final Pattern STEP = Pattern.compile("\\[rank (\\d+)] step (\\d+) digest ([0-9a-f]+)");
    private static final Pattern FINAL = Pattern.compile("\\[rank 0] final digest ([0-9a-f]+)");

    @TempDir
    Path tmp;

    private LauncherProcess run(String name, int nproc, String... worker) throws Exception {
        return run(List.of(), name, nproc, worker);
    }

    private LauncherProcess run(List<String> launcherOptions, String name, int nproc, String... worker) throws Exception {
        List<String> args = new ArrayList<>(List.of("--nproc-per-node", Integer.toString(nproc), "--run-dir", tmp.resolve(name).toString()));
        args.addAll(launcherOptions);
        args.add(TrainingWorker.class.getName());
        args.addAll(List.of(worker));
        LauncherProcess l = LauncherProcess.start(args);
        assertEquals(0, l.awaitExit(RUN), l.output());
        return l;
    }

    private float[] train(String name, int nproc, int batch, String... flags) throws Exception {
        return train(List.of(), name, nproc, batch, flags);
    }

    /**
     * One-process references, shared by the tests that compare against the same one (a run is
     * deterministic: equal arguments give equal parameters), so the suite trains each only once.
     */
    private static final Map<String, float[]> REFERENCES = new java.util.concurrent.ConcurrentHashMap<>();

    private float[] train(List<String> launcherOptions, String name, int nproc, int batch, String... flags) throws Exception {
        if (nproc == 1 && launcherOptions.isEmpty()) {
            String key = batch + " " + String.join(" ", flags);
            float[] known = REFERENCES.get(key);
            if (known != null) {
                return known.clone();
            }
            float[] trained = trainOnce(launcherOptions, name, nproc, batch, flags);
            REFERENCES.put(key, trained.clone());
            return trained;
        }
        return trainOnce(launcherOptions, name, nproc, batch, flags);
    }

    private float[] trainOnce(List<String> launcherOptions, String name, int nproc, int batch, String... flags) throws Exception {
        Path out = tmp.resolve(name + ".params");
        List<String> w = new ArrayList<>(List.of("--batch", Integer.toString(batch), "--samples", "256", "--epochs", "2", "--out", out.toString()));
        w.addAll(List.of(flags));
        LauncherProcess l = run(launcherOptions, name, nproc, w.toArray(String[]::new));
        assertEveryStepIdenticalOnAllRanks(l.output(), nproc, 2 * 256 / (batch * nproc));
        return TrainedParameters.read(out);
    }

    static void assertEveryStepIdenticalOnAllRanks(String output, int ranks, int steps) {
        Map<Integer, Set<String>> digests = new HashMap<>();
        Map<Integer, Integer> reports = new HashMap<>();
        Matcher m = STEP.matcher(output);
        while (m.find()) {
            int step = Integer.parseInt(m.group(2));
            digests.computeIfAbsent(step, k -> new HashSet<>()).add(m.group(3));
            reports.merge(step, 1, Integer::sum);
        }
        assertEquals(steps, digests.size(), "steps reported: " + digests.keySet());
        digests.forEach((step, d) -> {
            assertEquals(1, d.size(), "ranks differ after step " + step + ": " + d);
            assertEquals(ranks, reports.get(step), "ranks reporting step " + step);
        });
    }

    /** {@code --backend auto} (the default) on a host without a GPU: rank 0's log says gRPC and why, and training passed. */
    private static void assertAutoFellBackToGrpc(Path runDir) throws Exception {
        String log = Files.readString(runDir.resolve("rank-0.log"));
        if (NcclProbe.driverPresent()) {
            System.out.println("backend choice on this GPU host: " + log.lines().filter(l -> l.contains("backend auto")).toList());
            return;
        }
        assertTrue(log.contains("trainyard: backend auto: gRPC, because NCCL is unusable on rank 0: no NVIDIA driver on this"
                + " host"), log);
    }

    private static double relativeError(float[] a, float[] ref) {
        return TrainedParameters.relativeError(a, ref);
    }

    /** Trainyard's fused optimizers with warm-up, cosine decay and clipping: Adam at 2 workers, AdamW at 4. */
    @ParameterizedTest(name = "{0} workers")
    @ValueSource(ints = {2, 4})
    void nWorkersMatchOneProcessWithNTimesTheBatchWithOverlapOnAndOff(int n) throws Exception {
        String optimizer = n == 2 ? "adam" : "adamw";
        float[] reference = train("single", 1, 8 * n, "--optimizer", optimizer);
        float[] overlapped = train("overlap", n, 8, "--optimizer", optimizer);
        assertAutoFellBackToGrpc(tmp.resolve("overlap"));
        String sharedMemory = "rank 0: frames to " + (n - 1) + " of " + (n - 1) + " peers through shared memory";
        assertTrue(Files.readString(tmp.resolve("overlap").resolve("rank-0.log")).contains(sharedMemory), "workers on one host use shared memory");
        // the same on TCP alone, as between hosts, with the optimizer state sharded (ZeRO-1)
        float[] sequential = train(List.of("--transport", "tcp"), "no-overlap", n, 8, "--no-overlap", "--optimizer", optimizer, "--zero");
        assertTrue(Files.readString(tmp.resolve("no-overlap").resolve("rank-0.log")).contains("rank 0: frames to 0 of " + (n - 1) + " peers through shared memory, the others through TCP"),
                "--transport tcp turns shared memory off");
        double errOn = relativeError(overlapped, reference);
        double errOff = relativeError(sequential, reference);
        double errZero = relativeError(overlapped, sequential);
        System.out.printf("%d workers, %s: relative error vs one process, overlap on (shared memory) %.2e, off (TCP, ZeRO-1) %.2e;"
                + " ZeRO-1 vs unsharded %.2e%n", n, optimizer, errOn, errOff, errZero);
        assertTrue(errOn <= 1e-5, "overlap on: relative error " + errOn);
        assertTrue(errOff <= 1e-5, "overlap off, ZeRO-1: relative error " + errOff);
        assertTrue(errZero <= 1e-6, "sharded and unsharded must agree");
        assertTrue(Files.readString(tmp.resolve("no-overlap").resolve("rank-0.log")).contains("state sharded over " + n + " ranks (ZeRO-1)"));
    }

    @Test
    void fp16CompressionStaysClose() throws Exception {
        float[] reference = train("single", 1, 16);
        double err = relativeError(train("fp16", 2, 8, "--fp16"), reference);
        System.out.printf("fp16 compression: relative error %.2e%n", err);
        assertTrue(err <= 1e-2, "fp16: relative error " + err);
    }

    @Test
    void accumulatingTwoMicroBatchesEqualsOneStepOnTheirUnion() throws Exception {
        // two mean-loss gradients are summed, so half the learning rate gives the step of the doubled batch
        float[] reference = train("single", 1, 32, "--lr", "0.2");
        double err = relativeError(train("accumulate", 2, 8, "--accumulate", "2", "--lr", "0.1"), reference);
        System.out.printf("accumulation of 2 micro-batches: relative error %.2e%n", err);
        assertTrue(err <= 1e-5, "accumulation: relative error " + err);
    }

    /**
     * The GPU layout (gradients copied into separate bucket tensors and back, {@code CopiedGradientBuckets}),
     * run on CPU: staged through host copies over gRPC, it must train exactly like one process.
     */
    @Test
    void copiedGradientBucketsMatchOneProcess() throws Exception {
        float[] reference = train("copy-single", 1, 16);
        float[] copied = train("copy", 2, 8, "--copy-gradients");
        double err = relativeError(copied, reference);
        System.out.printf("copied gradient buckets, 2 workers: relative error vs one process %.2e%n", err);
        assertTrue(err <= 1e-5, "copied buckets: relative error " + err);
        String log = Files.readString(tmp.resolve("copy").resolve("rank-0.log"));
        assertTrue(log.contains("trainyard: gradients on cpu() are all-reduced through host copies (the HostCommunicator takes host buffers)"));
        // the step figures also reached DJL's Metrics on the trainer, one value per step, and its listeners
        int steps = 2 * 256 / (8 * 2);
        Matcher bytes = Pattern.compile("djl metric trainyard_bytes_all_reduced: (\\d+) values, mean ([0-9.]+) Bytes").matcher(log);
        assertTrue(bytes.find(), log);
        assertEquals(steps, Integer.parseInt(bytes.group(1)));
        assertTrue(Double.parseDouble(bytes.group(2)) > 0, "gradient bytes per step: " + bytes.group(2));
        Matcher exposed = Pattern.compile("djl metric trainyard_exposed_communication: (\\d+) values, mean ([0-9.]+) Microseconds").matcher(log);
        assertTrue(exposed.find() && Integer.parseInt(exposed.group(1)) == steps, log);
        assertTrue(log.contains("trainyard: epoch 1: " + steps / 2 + " steps of ") && log.contains(" exposed communication ")
                && log.contains("trainyard: epoch 2: "), "StepPhasesLogger's line per epoch on rank 0: " + log);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"view", "copy"})
    void aNaNGradientOnOneRankSkipsThatStepOnEveryRank(String layout) throws Exception {
        List<String> worker = new ArrayList<>(List.of("--batch", "8", "--samples", "128", "--epochs", "1", "--poison-rank", "1",
                "--poison-step", "5"));
        if (layout.equals("copy")) {
            worker.add("--copy-gradients");
        }
        LauncherProcess l = run("nan-" + layout, 2, worker.toArray(String[]::new));
        String out = l.output();
        assertEveryStepIdenticalOnAllRanks(out, 2, 128 / 16);
        assertTrue(out.contains("[rank 1] trainyard: rank 1: non-finite gradient (NaN or infinity) in parameter ")
                && out.contains("at step 5; the step is skipped on every rank (policy skip-step; 1 skipped so far)"), out);
        assertTrue(out.contains("[rank 0] trainyard: rank 0: step 5: another rank's gradients were non-finite; the step is skipped"), out);
        assertEquals(digestAt(out, 4), digestAt(out, 5), "the skipped step leaves the parameters as they were");
        assertTrue(!digestAt(out, 6).equals(digestAt(out, 5)), "training goes on after the skipped step");
        List<String> metrics = Files.readAllLines(tmp.resolve("nan-" + layout).resolve("metrics-rank-0.jsonl"));
        assertTrue(metrics.get(4).contains("\"step\":5,") && metrics.get(4).contains("\"skipped\":true,"), metrics.get(4));
    }

    @Test
    void failPolicyStopsTheJobNamingRankAndParameter() throws Exception {
        List<String> args = List.of("--nproc-per-node", "2", "--run-dir", tmp.resolve("nan-fail").toString(), TrainingWorker.class.getName(),
                "--batch", "8", "--samples", "128", "--epochs", "1", "--poison-rank", "1", "--poison-step", "3", "--fail-on-nonfinite");
        try (LauncherProcess l = LauncherProcess.start(args)) {
            assertEquals(1, l.awaitExit(RUN), l.output());
            assertTrue(l.output().contains("rank 1: non-finite gradient (NaN or infinity) in parameter ")
                    && l.output().contains("at step 3 (policy fail)"), l.output());
        }
    }

    private static String digestAt(String output, int step) {
        Matcher m = Pattern.compile("\\[rank 0] step " + step + " digest ([0-9a-f]+)").matcher(output);
        assertTrue(m.find(), "no digest for step " + step);
        return m.group(1);
    }

    /**
     * With ZeRO-1 the uninterrupted run's checkpoints then resume onto 4 ranks and onto 1: the state,
     * resharded and gathered again, is bit-identical to what 2 ranks saved.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unsharded", "--zero"})
    void killedWorkerResumesFromCheckpointAndEndsWhereAnUninterruptedRunEnds(String sharding) throws Exception {
        // AdamW with warm-up and cosine decay: equal digests need the moments and the schedule position restored exactly
        List<String> flags = new ArrayList<>(List.of("--batch", "8", "--samples", "512", "--epochs", "2", "--checkpoint-every", "8",
                "--optimizer", "adamw"));
        boolean zero = sharding.equals("--zero");
        if (zero) {
            flags.add("--zero");
        }
        String[] worker = flags.toArray(String[]::new);
        String uninterrupted = run("uninterrupted", 2, worker).output();
        String expected = finalDigest(uninterrupted);
        List<String> args = new ArrayList<>(List.of("--nproc-per-node", "2", "--max-restarts", "1", "--run-dir",
                tmp.resolve("restarted").toString(), TrainingWorker.class.getName()));
        args.addAll(List.of(worker));
        args.addAll(List.of("--step-delay-ms", "40")); // time for the kill to strike mid-run; the other runs need none
        try (LauncherProcess l = LauncherProcess.start(args)) {
            l.awaitLines(s -> s.startsWith("[rank 1] step 13 digest"), 1, RUN);
            ProcessHandle.of(l.pidOfRank(1)).orElseThrow().destroyForcibly();
            assertEquals(0, l.awaitExit(RUN), l.output());
            String out = l.output();
            assertTrue(out.contains("failed first: exit code 137"), out);
            // sharded, every rank wrote its own shard into a checkpoint directory; unsharded, rank 0 one file
            String checkpoint = zero ? "checkpoint-0*(8|16) " : "checkpoint-0*(8|16)\\.tyck ";
            assertTrue(out.matches("(?s).*\\[rank 0] resuming from \\S*" + checkpoint + ".*"), out);
            assertEquals(expected, finalDigest(out), out);
        }
        if (zero) {
            assertTrue(uninterrupted.matches("(?s).*\\[rank 0] checkpoint \\S*checkpoint-0*64 written \\(step 64, adamw state in 2 shards, one per rank\\).*"),
                    uninterrupted);
            String saved = lastMatch(uninterrupted, "\\[rank 0] final optimizer state crc32 ([0-9a-f]+)");
            for (int n : new int[] {4, 1}) {
                // the same run directory, continued: its checkpoints, training done
                String resumed = run(List.of("--resume"), "uninterrupted", n, worker).output();
                assertTrue(resumed.contains("trainyard: attempt " + (n == 4 ? 2 : 3) + ": starting ranks"), resumed);
                assertEquals(saved, lastMatch(resumed, "\\[rank 0] resuming from \\S*checkpoint-0*64 \\(epoch 3, step 64, adamw state crc32 ([0-9a-f]+)\\)"),
                        "the 2 shards put back together");
                assertEquals(saved, lastMatch(resumed, "\\[rank 0] final optimizer state crc32 ([0-9a-f]+)"),
                        "the state spread over " + n + " rank(s) and gathered again");
            }
        }
    }

    /**
     * The run directory on an 8 MiB tmpfs that fills up mid-run (root only): the metrics writer gives
     * up with one warning, the launcher keeps copying the workers' output, the next checkpoint fails
     * naming ENOSPC and the job stops; the previous checkpoint stays, no temporary file does, and once
     * there is space again the same command with {@code --resume} resumes from that checkpoint.
     * With ZeRO-1 every rank writes its own shard: whichever rank runs out of space, nothing of that
     * checkpoint stays.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"unsharded", "--zero"})
    void aRunDirectoryThatFillsUpMidRunKeepsItsLastCheckpointAndResumesOnceThereIsSpace(String sharding) throws Exception {
        boolean zero = sharding.equals("--zero");
        Path mount = Files.createDirectory(tmp.resolve("small-disk"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount.toString()).redirectErrorStream(true).start();
        String why = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            System.out.println("SKIPPED aRunDirectoryThatFillsUpMidRun...: cannot mount a small tmpfs here (needs root): " + why);
            org.junit.jupiter.api.Assumptions.abort("needs root to mount a tmpfs");
        }
        try {
            Path run = mount.resolve("run");
            List<String> args = new ArrayList<>(List.of("--nproc-per-node", "2", "--run-dir", run.toString(), TrainingWorker.class.getName(),
                    "--batch", "8", "--samples", "384", "--epochs", "1", "--checkpoint-every", "8", "--step-delay-ms", "40"));
            if (zero) {
                args.addAll(List.of("--optimizer", "adamw", "--zero"));
            }
            Path filler = mount.resolve("filler");
            try (LauncherProcess l = LauncherProcess.start(args)) {
                l.awaitLines(s -> s.startsWith("[rank 0] checkpoint ") && s.contains(" written (step 8"), 1, RUN);
                fill(filler);
                int code = l.awaitExit(RUN);
                String out = l.output();
                assertTrue(code != 0, out);
                assertTrue(out.contains("cannot append to the metrics file " + run.toAbsolutePath()) && out.contains("(ENOSPC); training goes on"), out);
                assertTrue(out.matches("(?s).*cannot write a checkpoint into \\S+checkpoints: No space left on device \\(ENOSPC\\); the previous checkpoint is still valid.*"), out);
            }
            try (var files = Files.list(run.resolve("checkpoints"))) {
                List<Path> left = files.sorted().toList();
                assertTrue(!left.isEmpty() && left.stream().allMatch(f -> zero
                        ? f.getFileName().toString().matches("checkpoint-\\d+") && Files.exists(f.resolve("MANIFEST"))
                        : f.getFileName().toString().matches("checkpoint-\\d+\\.tyck")), "no temporary file, no uncommitted directory left: " + left);
            }
            Files.delete(filler);
            args.add(2, "--resume");
            try (LauncherProcess l = LauncherProcess.start(args)) {
                assertEquals(0, l.awaitExit(RUN), l.output());
                assertTrue(l.output().matches("(?s).*\\[rank 0] resuming from \\S+checkpoint-0*(8|16)" + (zero ? " " : "\\.tyck ") + ".*"), l.output());
            }
        } finally {
            new ProcessBuilder("umount", "-l", mount.toString()).start().waitFor();
        }
    }

    /** Writes to {@code file} until the file system is full. */
    private static void fill(Path file) throws java.io.IOException {
        try (var out = Files.newOutputStream(file)) {
            byte[] block = new byte[64 << 10];
            while (true) {
                out.write(block);
            }
        } catch (java.io.IOException full) {
            if (!String.valueOf(full.getMessage()).contains("No space left on device")) {
                throw full;
            }
        }
    }

    private static String lastMatch(String output, String regex) {
        Matcher m = Pattern.compile(regex).matcher(output);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        assertTrue(last != null, "no line matching " + regex + " in:\n" + output);
        return last;
    }

    /**
     * SIGSTOP on a worker, with the default 5-minute collective timeout: the launcher sees the process
     * no longer runs and names it after --stall-timeout, not after the collective timeout.
     */
    @Test
    void aFrozenWorkerIsNamedWithinSecondsAndNothingIsLeftBehind() throws Exception {
        List<String> args = List.of("--nproc-per-node", "2", "--stall-timeout", "3s", "--grace-period", "2s",
                "--run-dir", tmp.resolve("frozen").toString(), TrainingWorker.class.getName(),
                "--batch", "8", "--samples", "512", "--epochs", "50", "--step-delay-ms", "40");
        try (LauncherProcess l = LauncherProcess.start(args)) {
            l.awaitLines(s -> s.startsWith("[rank 1] step 5 digest"), 1, RUN);
            long frozen = l.pidOfRank(1);
            assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(frozen)).start().waitFor());
            long frozenAt = System.nanoTime();
            assertEquals(1, l.awaitExit(RUN), l.output());
            double seconds = (System.nanoTime() - frozenAt) / 1e9;
            String out = l.output();
            assertTrue(out.matches("(?s).*rank 1 \\(node 0, pid " + frozen + "\\) failed first: frozen, its process has not run for 3\\.\\d s"
                    + " \\(state T \\(stopped\\).*"), out);
            // stall timeout 3 s + up to 1 s between checks + SIGKILL after the 2 s grace (SIGTERM waits while stopped) + margin
            assertTrue(seconds < 3 + 1 + 2 + 5, "took " + seconds + " s");
            LauncherProcess.assertAllGone(l.reportedPids(), Duration.ofSeconds(2));
            System.out.printf("frozen worker: launcher exited %.1f s after SIGSTOP (stall timeout 3 s, collective timeout 5 min)%n", seconds);
        }
    }

    private static String finalDigest(String output) {
        Matcher m = FINAL.matcher(output);
        String last = null;
        while (m.find()) {
            last = m.group(1);
        }
        assertTrue(last != null, "no final digest in:\n" + output);
        return last;
    }
}
