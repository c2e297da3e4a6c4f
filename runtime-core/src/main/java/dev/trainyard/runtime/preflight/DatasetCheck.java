package dev.trainyard.runtime.preflight;

import java.util.List;
import java.util.Optional;

/**
 * Lets an application tell preflight how to check its data (registered through
 * {@code META-INF/services/dev.trainyard.runtime.preflight.DatasetCheck}): readable, and of the
 * shape training expects, before a cluster spends hours finding out.
 */
public interface DatasetCheck {
    /**
     * @param mainClass the worker's main class
     * @param args      its arguments
     * @return empty if this check is not about that program; else what was found (e.g. "60000 images of 28x28")
     * @throws Exception whose message says what is wrong with the data and how to fix it
     */
    Optional<String> check(String mainClass, List<String> args) throws Exception;
}
