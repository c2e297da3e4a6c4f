package dev.trainyard.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.trainyard.collectives.ReduceOp;
import dev.trainyard.collectives.Transport;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WorkerContextTest {
    private static Map<String, String> launched() {
        Map<String, String> env = new HashMap<>();
        env.put("RANK", "3");
        env.put("LOCAL_RANK", "1");
        env.put("WORLD_SIZE", "4");
        env.put("LOCAL_WORLD_SIZE", "2");
        env.put("NODE_RANK", "1");
        env.put("MASTER_ADDR", "10.0.0.1");
        env.put("MASTER_PORT", "29500");
        env.put("TRAINYARD_RESTART_COUNT", "2");
        env.put("TRAINYARD_TOKEN", "0123456789abcdef0123");
        env.put("TRAINYARD_RENDEZVOUS_TIMEOUT", "30s");
        env.put("TRAINYARD_LAUNCHER_PID", "42");
        return env;
    }

    @Test
    void readsTheLaunchersEnvironment() {
        WorkerContext c = WorkerContext.fromEnvironment(launched());
        assertEquals(3, c.rank());
        assertEquals(1, c.localRank());
        assertEquals(4, c.worldSize());
        assertEquals(2, c.localWorldSize());
        assertEquals(1, c.nodeRank());
        assertEquals("10.0.0.1", c.masterAddr());
        assertEquals(29500, c.masterPort());
        assertEquals(2, c.restartCount());
        assertEquals(Duration.ofSeconds(30), c.rendezvousTimeout());
        assertEquals(Optional.of(42L), c.launcherPid());
        assertEquals(Backend.GRPC, c.backend());
        assertEquals(Transport.SHARED_MEMORY, c.communicatorOptions().transport(), "shared memory on one host unless the launcher says otherwise");
    }

    /**
     * Every variable the launcher can set, none at its default. The TLS files are left out: the
     * PEM files must exist and parse (TlsTest carries them to workers end to end).
     */
    private static Map<String, String> everyVariable() {
        Map<String, String> env = launched();
        env.put("TRAINYARD_BIND", "10.0.0.7");
        env.put("TRAINYARD_RUN_DIR", "/runs/r1");
        env.put("TRAINYARD_BACKEND", "nccl");
        env.put("TRAINYARD_RENDEZVOUS_TIMEOUT", "30000ms"); // as Durations.format writes them
        env.put("TRAINYARD_COLLECTIVE_TIMEOUT", "90000ms");
        env.put("TRAINYARD_STORE_PREFIX", "g3/");
        env.put("TRAINYARD_TRANSPORT", "tcp");
        env.put("TRAINYARD_ALL_REDUCE", "hierarchical");
        env.put("TRAINYARD_PREFLIGHT", "first");
        env.put("TRAINYARD_MIN_FREE_DISK", "1048576");
        env.put("TRAINYARD_TRACE", "every:7");
        env.put("CUDA_VISIBLE_DEVICES", "5");
        return env;
    }

    @Test
    void whatTheLauncherWritesTheWorkerReadsBack() {
        Map<String, String> env = everyVariable();
        WorkerContext c = WorkerContext.fromEnvironment(env);
        assertEquals(env, c.toEnvironment());
        assertEquals(c, WorkerContext.fromEnvironment(c.toEnvironment()));
        assertEquals(new WorkerStartup(PreflightMode.FIRST, 1 << 20, "every:7", Optional.of("5")), c.startup());
        assertEquals(Backend.NCCL, c.backend());
        assertEquals(Path.of("/runs/r1"), c.runDir());
        for (PreflightMode mode : PreflightMode.values()) {
            env.put("TRAINYARD_PREFLIGHT", mode.envValue());
            assertEquals(mode, WorkerContext.fromEnvironment(env).startup().preflight());
        }
        assertEquals(List.of(PreflightMode.FIRST_FULL, PreflightMode.ONLY),
                Arrays.stream(PreflightMode.values()).filter(PreflightMode::measuresLinks).toList(), "the quick checks measure no link");
        // a name added to WorkerEnv but left out of the writer or the reader fails here
        for (Field f : WorkerEnv.class.getDeclaredFields()) {
            if (f.getType() == String.class && !f.getName().startsWith("TLS_")) {
                assertTrue(env.containsKey(readName(f)), f.getName() + " is not covered by this round trip");
            }
        }
    }

    private static String readName(Field f) {
        try {
            return (String) f.get(null);
        } catch (IllegalAccessException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void malformedStartupVariablesAreNamed() {
        Map<String, String> env = everyVariable();
        env.put("TRAINYARD_PREFLIGHT", "sometimes");
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env)).getMessage()
                .startsWith("environment variable TRAINYARD_PREFLIGHT='sometimes': 'sometimes' is not a preflight mode"));
        env.put("TRAINYARD_PREFLIGHT", "off");
        env.put("TRAINYARD_MIN_FREE_DISK", "lots");
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env)).getMessage()
                .startsWith("environment variable TRAINYARD_MIN_FREE_DISK='lots'"));
    }

    @Test
    void theLaunchersTransportReachesTheCommunicator() {
        Map<String, String> env = launched();
        env.put("TRAINYARD_TRANSPORT", "tcp");
        assertEquals(Transport.TCP, WorkerContext.fromEnvironment(env).communicatorOptions().transport());
        env.put("TRAINYARD_TRANSPORT", "grpc-stream");
        assertEquals(Transport.GRPC_STREAM, WorkerContext.fromEnvironment(env).communicatorOptions().transport());
        env.put("TRAINYARD_TRANSPORT", "pigeon");
        String message = assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env)).getMessage();
        assertTrue(message.startsWith("environment variable TRAINYARD_TRANSPORT: unknown transport 'pigeon'"), message);
        env.remove("TRAINYARD_TRANSPORT");
        assertEquals(dev.trainyard.collectives.AllReduceAlgorithm.AUTO, WorkerContext.fromEnvironment(env).communicatorOptions().allReduceAlgorithm());
        env.put("TRAINYARD_ALL_REDUCE", "ring");
        assertEquals(dev.trainyard.collectives.AllReduceAlgorithm.RING, WorkerContext.fromEnvironment(env).communicatorOptions().allReduceAlgorithm());
        env.put("TRAINYARD_ALL_REDUCE", "tree");
        message = assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env)).getMessage();
        assertTrue(message.startsWith("environment variable TRAINYARD_ALL_REDUCE='tree': unknown all-reduce algorithm 'tree'"), message);
    }

    @Test
    void namesTheBadVariable() {
        Map<String, String> env = launched();
        env.remove("TRAINYARD_TOKEN");
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env)).getMessage()
                .startsWith("environment variable TRAINYARD_TOKEN is not set but RANK is"));
        Map<String, String> env2 = launched();
        env2.put("RANK", "4");
        assertEquals("RANK=4 is outside WORLD_SIZE=4 (valid ranks: 0..3)",
                assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env2)).getMessage());
        Map<String, String> env3 = launched();
        env3.put("MASTER_PORT", "x");
        assertTrue(assertThrows(IllegalStateException.class, () -> WorkerContext.fromEnvironment(env3)).getMessage()
                .startsWith("environment variable MASTER_PORT='x' must be an integer >= 1"));
    }

    @Test
    void withoutALauncherItIsAWorldOfOne() {
        try (ProcessGroup pg = Trainyard.init(Map.of())) {
            assertTrue(pg.context().standalone());
            assertEquals(1, pg.worldSize());
            float[] v = {1.5f, -2f};
            pg.communicator().allReduce(v, ReduceOp.SUM);
            assertEquals(1.5f, v[0]);
            assertEquals(-2f, v[1]);
            pg.store().setString("k", "v");
            assertEquals("v", pg.store().getString("k", Duration.ofSeconds(1)));
        }
    }

    @Test
    void durations() {
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("30s"));
        assertEquals(Duration.ofSeconds(30), Durations.parse("30"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofHours(2), Durations.parse("2H"));
        assertEquals(Duration.ofMillis(1500), Durations.parse(Durations.format(Duration.ofMillis(1500))));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("0s"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("1.5s"));
    }
}
