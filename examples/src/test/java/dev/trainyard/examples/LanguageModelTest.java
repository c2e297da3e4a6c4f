package dev.trainyard.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GPT example in this JVM as a world of 1, shrunk to seconds, on a corpus the test writes. */
class LanguageModelTest {
    private static final Pattern EPOCH = Pattern.compile("epoch (\\d)/2 validation loss [0-9.]+ perplexity ([0-9.]+)");

    /** Sentences drawn from a few fixed words: much more predictable byte by byte than their byte frequencies alone say. */
    private static byte[] text() {
        String[] words = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "its", "bed"};
        SplittableRandom r = new SplittableRandom(3);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 24_000) {
            int n = 3 + r.nextInt(5);
            for (int i = 0; i < n; i++) {
                sb.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            sb.append(".\n");
        }
        return sb.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** exp(entropy of the bytes' frequencies in the validation tenth): what a model that ignores context reaches at best. */
    private static double unigramPerplexity(byte[] bytes) {
        int from = bytes.length - bytes.length / 10;
        double[] counts = new double[256];
        for (int i = from; i < bytes.length; i++) {
            counts[bytes[i] & 0xff]++;
        }
        double entropy = 0;
        for (double c : counts) {
            if (c > 0) {
                double p = c / (bytes.length - from);
                entropy -= p * Math.log(p);
            }
        }
        return Math.exp(entropy);
    }

    @Test
    void perplexityFallsBelowWhatByteFrequenciesAloneAllow(@TempDir Path corpus) throws Exception {
        System.setProperty("ai.djl.offline", "true");
        byte[] bytes = text();
        Files.write(corpus.resolve("sentences"), bytes);
        Files.write(corpus.resolve("sentences.dat"), new byte[] {1, 2, 3}); // strfile's index: not text, must be skipped
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream stdout = System.out;
        int code;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            code = ExampleCli.commandLine(new LanguageModel()).execute("--corpus", corpus.toString(), "--epochs", "2", "--dim", "32",
                    "--layers", "2", "--heads", "2", "--context", "16", "--batch-size", "32", "--lr", "0.01", "--sample-bytes", "40");
        } finally {
            System.setOut(stdout);
        }
        String printed = out.toString(StandardCharsets.UTF_8);
        System.out.print(printed);
        assertEquals(0, code, printed);
        List<Double> perplexity = new ArrayList<>();
        Matcher m = EPOCH.matcher(printed);
        while (m.find()) {
            perplexity.add(Double.parseDouble(m.group(2)));
        }
        assertEquals(2, perplexity.size(), printed);
        assertTrue(perplexity.get(1) < perplexity.get(0), "perplexity falls from epoch 1 to 2: " + perplexity);
        double unigram = unigramPerplexity(bytes);
        assertTrue(perplexity.get(1) < 0.8 * unigram, "the model uses context: perplexity " + perplexity.get(1) + " against " + unigram
                + " from byte frequencies alone");
        assertTrue(printed.contains("sampled text") && printed.contains("(1 files)"), printed);
    }

    @Test
    void aMissingCorpusIsOneLineAndExitTwo(@TempDir Path dir) {
        StringWriter err = new StringWriter();
        var cli = ExampleCli.commandLine(new LanguageModel());
        cli.setErr(new PrintWriter(err, true));
        assertEquals(2, cli.execute("--corpus", dir.resolve("nowhere").toString()));
        assertEquals("gpt: no text corpus at " + dir.resolve("nowhere") + ": install it with 'apt-get install fortunes' or pass --corpus DIR "
                + "(a directory of text files) (see --help)", err.toString().strip());
    }
}
