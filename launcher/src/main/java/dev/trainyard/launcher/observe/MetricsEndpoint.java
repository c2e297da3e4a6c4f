package dev.trainyard.launcher.observe;

import dev.trainyard.launcher.LaunchFailedException;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.ToDoubleFunction;
import java.util.function.IntSupplier;

/**
 * {@code --metrics-port}: the launcher's progress figures for Prometheus at
 * {@code http://BIND:PORT/metrics} (Micrometer's Prometheus registry, served by the JDK's HTTP
 * server on the launcher's bind address): steps, samples/s, ETA, slowest rank and by how much, attempts.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HttpServer server;
    /** Micrometer holds a function meter's source weakly: this keeps it alive as long as the endpoint. */
    private final IntSupplier attempt;

    private MetricsEndpoint(HttpServer server, IntSupplier attempt) {
        this.server = server;
        this.attempt = attempt;
    }

    public static MetricsEndpoint start(String bind, int port, Progress progress, IntSupplier attempt) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Prometheus conventions: counters end in _total, units in the name in base units (seconds, ratios)
        FunctionCounter.builder("trainyard.optimizer.steps", progress, Progress::step)
                .description("optimizer steps done by the slowest local rank (goes back when a restart resumes from a checkpoint)")
                .register(registry);
        gauge(registry, "trainyard.samples.per.second", null, "samples per second of this node's ranks", progress, Progress::samplesPerSecond);
        gauge(registry, "trainyard.eta", "seconds", "estimated time to the end of training", progress, Progress::etaSeconds);
        gauge(registry, "trainyard.slowest.rank", null, "rank with the most busy time per step", progress, Progress::slowestRank);
        gauge(registry, "trainyard.slowest.rank.excess.busy", "ratio", "its busy time per step above the others', as a fraction of theirs",
                progress, p -> p.slowestRankPercent() / 100);
        FunctionCounter.builder("trainyard.attempts", attempt, a -> a.getAsInt()).description("attempts started (1 + restarts)").register(registry);
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 0);
            server.createContext("/metrics", exchange -> {
                byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
                exchange.sendResponseHeaders(200, body.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            });
            server.start();
            return new MetricsEndpoint(server, attempt);
        } catch (IOException e) {
            throw new LaunchFailedException("cannot serve metrics on " + bind + ":" + port + ": " + e.getMessage()
                    + "; choose another --metrics-port", e);
        }
    }

    private static void gauge(PrometheusMeterRegistry r, String name, String unit, String help, Progress p, ToDoubleFunction<Progress> f) {
        Gauge.builder(name, p, f).baseUnit(unit).description(help).register(r);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
