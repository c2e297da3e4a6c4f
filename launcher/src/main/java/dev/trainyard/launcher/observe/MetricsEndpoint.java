package dev.trainyard.launcher.observe;

import dev.trainyard.launcher.LaunchFailedException;

import com.sun.net.httpserver.HttpServer;
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
 * server on the launcher's bind address): step, samples/s, ETA, slowest rank and by how much, attempt.
 */
public final class MetricsEndpoint implements AutoCloseable {
    private final HttpServer server;

    private MetricsEndpoint(HttpServer server) {
        this.server = server;
    }

    public static MetricsEndpoint start(String bind, int port, Progress progress, IntSupplier attempt) {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        gauge(registry, "trainyard.step", "optimizer steps done (the slowest local rank)", progress, Progress::step);
        gauge(registry, "trainyard.samples.per.second", "samples per second of this node's ranks", progress, Progress::samplesPerSecond);
        gauge(registry, "trainyard.eta.seconds", "estimated seconds to the end of training", progress, Progress::etaSeconds);
        gauge(registry, "trainyard.slowest.rank", "rank with the most busy time per step", progress, Progress::slowestRank);
        gauge(registry, "trainyard.slowest.rank.percent", "its busy time per step above the others'", progress, Progress::slowestRankPercent);
        // a Supplier gauge holds its source strongly (a state-object gauge would lose a lambda to the GC)
        Gauge.builder("trainyard.attempt", attempt::getAsInt).description("attempt (1 + restarts)").register(registry);
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
            return new MetricsEndpoint(server);
        } catch (IOException e) {
            throw new LaunchFailedException("cannot serve metrics on " + bind + ":" + port + ": " + e.getMessage()
                    + "; choose another --metrics-port", e);
        }
    }

    private static void gauge(PrometheusMeterRegistry r, String name, String help, Progress p, ToDoubleFunction<Progress> f) {
        Gauge.builder(name, p, f).description(help).register(r);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
