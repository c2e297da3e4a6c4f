package dev.trainyard.launcher.report;

import dev.trainyard.runtime.ByteSize;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Self-contained SVG charts for benchmark results and run reports (no plotting library, no
 * network): line charts with a log2 byte-size x axis (busbw against message size) or a linear one
 * (throughput over time), and bar charts, grouped or stacked (step-time breakdowns).
 */
public final class SvgChart {
    private static final String[] COLORS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
    private static final int W = 720;
    private static final int H = 420;
    private static final int L = 70;
    private static final int R = 170;
    private static final int T = 40;
    private static final int B = 60;

    /** One named series of values, one per x (line chart) or per category (bar chart). */
    public record Series(String name, double[] values) {
    }

    private SvgChart() {
    }

    /** {@code results/x.json} → {@code results/x.svg}. */
    public static Path beside(Path json) {
        String name = json.getFileName().toString();
        return json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".svg");
    }

    /** Line chart over a log2 byte-size x axis, written to {@code file}. */
    public static void lines(Path file, String title, String xLabel, String yLabel, double[] x, List<Series> series) throws IOException {
        write(file, lines(title, xLabel, yLabel, x, series, true));
    }

    /** Line chart as SVG text; {@code log2Bytes} picks a log2 byte-size x axis, else a linear one. */
    public static String lines(String title, String xLabel, String yLabel, double[] x, List<Series> series, boolean log2Bytes) {
        java.util.function.DoubleUnaryOperator scale = log2Bytes ? v -> Math.log(v) / Math.log(2) : v -> v;
        double lo = scale.applyAsDouble(x[0]);
        double hi = scale.applyAsDouble(x[x.length - 1]);
        double yMax = niceMax(series.stream().flatMap(s -> java.util.Arrays.stream(s.values()).boxed()).mapToDouble(Double::doubleValue).max().orElse(1));
        StringBuilder sb = frame(title, xLabel, yLabel, yMax);
        for (int i = 0; i < x.length; i += Math.max(1, x.length / 8)) {
            double px = L + (scale.applyAsDouble(x[i]) - lo) / Math.max(1e-9, hi - lo) * (W - L - R);
            sb.append(text(px, H - B + 18, log2Bytes ? ByteSize.format((long) x[i]) : fmt(x[i]), "middle"));
        }
        for (int s = 0; s < series.size(); s++) {
            StringBuilder pts = new StringBuilder();
            for (int i = 0; i < x.length; i++) {
                double px = L + (scale.applyAsDouble(x[i]) - lo) / Math.max(1e-9, hi - lo) * (W - L - R);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, y(series.get(s).values()[i], yMax)));
            }
            sb.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n", COLORS[s % COLORS.length], pts));
            legend(sb, s, series.get(s).name());
        }
        return sb.append("</svg>\n").toString();
    }

    /** Bar chart, grouped or stacked, written to {@code file}. */
    public static void bars(Path file, String title, String yLabel, List<String> categories, List<Series> series, boolean stacked) throws IOException {
        write(file, bars(title, yLabel, categories, series, stacked));
    }

    /** Bar chart as SVG text. */
    public static String bars(String title, String yLabel, List<String> categories, List<Series> series, boolean stacked) {
        double yMax = 0;
        for (int c = 0; c < categories.size(); c++) {
            double total = 0;
            for (Series s : series) {
                total = stacked ? total + s.values()[c] : Math.max(total, s.values()[c]);
            }
            yMax = Math.max(yMax, total);
        }
        yMax = niceMax(yMax);
        StringBuilder sb = frame(title, "", yLabel, yMax);
        double slot = (double) (W - L - R) / categories.size();
        double barW = stacked ? slot * 0.6 : slot * 0.8 / series.size();
        for (int c = 0; c < categories.size(); c++) {
            double x0 = L + c * slot + slot * (stacked ? 0.2 : 0.1);
            double base = 0;
            for (int s = 0; s < series.size(); s++) {
                double v = series.get(s).values()[c];
                double x = stacked ? x0 : x0 + s * barW;
                double top = y(base + v, yMax);
                double bottom = y(base, yMax);
                sb.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %s</title></rect>%n",
                        x, top, barW, Math.max(0, bottom - top), COLORS[s % COLORS.length], series.get(s).name(), fmt(v)));
                if (stacked) {
                    base += v;
                }
            }
            sb.append(text(L + c * slot + slot / 2, H - B + 18, categories.get(c), "middle"));
        }
        for (int s = 0; s < series.size(); s++) {
            legend(sb, s, series.get(s).name());
        }
        return sb.append("</svg>\n").toString();
    }

    private static StringBuilder frame(String title, String xLabel, String yLabel, double yMax) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n"
                        + "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", W, H));
        sb.append(text(W / 2.0, 22, title, "middle").replace("font-size=\"12\"", "font-size=\"15\""));
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", L, H - B, W - R, H - B));
        sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>%n", L, T, L, H - B));
        for (int i = 0; i <= 5; i++) {
            double v = yMax * i / 5;
            double py = y(v, yMax);
            sb.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n", L, py, W - R, py));
            sb.append(text(L - 6, py + 4, fmt(v), "end"));
        }
        sb.append(text(W / 2.0 - R / 2.0, H - 15, xLabel, "middle"));
        sb.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 16 %d)\">%s</text>%n",
                (H - B + T) / 2, (H - B + T) / 2, escape(yLabel)));
        return sb;
    }

    private static void legend(StringBuilder sb, int i, String name) {
        int y = T + 10 + i * 20;
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", W - R + 15, y - 10, COLORS[i % COLORS.length]));
        sb.append(text(W - R + 32, y, name, "start"));
    }

    private static double y(double v, double yMax) {
        return H - B - v / yMax * (H - B - T);
    }

    private static double niceMax(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    private static String fmt(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String text(double x, double y, String s, String anchor) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"12\">%s</text>%n", x, y, anchor, escape(s));
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static void write(Path file, String svg) throws IOException {
        if (file.toAbsolutePath().getParent() != null) {
            Files.createDirectories(file.toAbsolutePath().getParent());
        }
        Files.writeString(file, svg, StandardCharsets.UTF_8);
    }
}
