package dev.trainyard.examples;

import dev.trainyard.runtime.preflight.DatasetCheck;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;

/**
 * Preflight's look at the Fashion-MNIST example's data: the example's own options decide where
 * it reads from; the four IDX headers must be Fashion-MNIST's. Without {@code --data} and
 * without the Debian package the example trains on synthetic data, which preflight reports.
 */
public final class FashionMnistDatasetCheck implements DatasetCheck {
    @Override
    public Optional<String> check(String mainClass, List<String> args) throws Exception {
        if (!mainClass.equals(FashionMnist.class.getName())) {
            return Optional.empty();
        }
        FashionMnist options = new FashionMnist();
        new CommandLine(options).parseArgs(args.toArray(String[]::new));
        Path dir = options.data != null ? options.data : FashionMnistData.defaultDir();
        if (!FashionMnistData.present(dir)) {
            if (options.data != null) {
                throw new IllegalArgumentException("--data " + dir + " does not hold the four Fashion-MNIST IDX files");
            }
            return Optional.of("not installed in " + dir + ": the example will train on synthetic data "
                    + "(apt-get install dataset-fashion-mnist, or pass --data DIR)");
        }
        return Optional.of(FashionMnistData.describe(dir));
    }
}
