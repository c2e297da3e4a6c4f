package dev.trainyard.launcher.plan;

import dev.trainyard.launcher.UsageException;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * What every worker runs: a main class found on the launcher's classpath plus the user's, a JAR
 * with a {@code Main-Class}, or a named example. Resolved and checked in the launcher, so a typo
 * fails at once instead of in N workers.
 *
 * @param classpath the user's entries (the JAR first, if one was given), added after the launcher's own
 */
public record EntryPoint(String mainClass, List<String> classpath) {
    static final String EXAMPLES_RESOURCE = "META-INF/trainyard/examples.properties";

    public static EntryPoint resolve(String target, String example, List<String> userClasspath) {
        List<String> cp = new ArrayList<>(userClasspath);
        String mainClass;
        if (example != null) {
            mainClass = exampleClass(example);
        } else if (target == null) {
            throw new UsageException("nothing to launch: give a main class, a JAR, or --example NAME (available: "
                    + String.join(", ", examples().keySet()) + ")");
        } else if (target.endsWith(".jar")) {
            mainClass = jarMainClass(Path.of(target));
            cp.add(0, target);
        } else {
            mainClass = target;
        }
        checkMainMethod(mainClass, cp);
        return new EntryPoint(mainClass, List.copyOf(cp));
    }

    private static String exampleClass(String name) {
        TreeMap<String, String> all = examples();
        String cls = all.get(name);
        if (cls == null) {
            throw new UsageException("unknown example '" + name + "'; available: "
                    + (all.isEmpty() ? "none (the examples jar is not on the launcher's classpath; use ./trainyard)" : String.join(", ", all.keySet())));
        }
        return cls;
    }

    /** Every {@value #EXAMPLES_RESOURCE} on the launcher's classpath, merged. */
    static TreeMap<String, String> examples() {
        TreeMap<String, String> all = new TreeMap<>();
        try {
            Enumeration<URL> files = EntryPoint.class.getClassLoader().getResources(EXAMPLES_RESOURCE);
            while (files.hasMoreElements()) {
                Properties p = new Properties();
                try (InputStream in = files.nextElement().openStream()) {
                    p.load(in);
                }
                p.forEach((k, v) -> all.put((String) k, (String) v));
            }
        } catch (IOException e) {
            throw new UsageException("cannot read the list of examples: " + e.getMessage(), e);
        }
        return all;
    }

    private static String jarMainClass(Path jar) {
        if (!Files.isReadable(jar)) {
            throw new UsageException("JAR " + jar + " does not exist or cannot be read");
        }
        try (JarFile jf = new JarFile(jar.toFile())) {
            String main = jf.getManifest() == null ? null : jf.getManifest().getMainAttributes().getValue("Main-Class");
            if (main == null || main.isBlank()) {
                throw new UsageException("JAR " + jar + " names no Main-Class in its manifest; give the class instead: "
                        + "--classpath " + jar + " com.example.Main");
            }
            return main.strip();
        } catch (IOException e) {
            throw new UsageException("JAR " + jar + " cannot be opened: " + e.getMessage(), e);
        }
    }

    /** Loads the class without initializing it (no user code runs in the launcher). */
    private static void checkMainMethod(String mainClass, List<String> cp) {
        try (URLClassLoader loader = new URLClassLoader(urls(cp), EntryPoint.class.getClassLoader())) {
            Method m = Class.forName(mainClass, false, loader).getMethod("main", String[].class);
            if (!Modifier.isStatic(m.getModifiers()) || !Modifier.isPublic(m.getModifiers())) {
                throw new UsageException(mainClass + ".main(String[]) must be public static");
            }
        } catch (ClassNotFoundException e) {
            throw new UsageException("main class '" + mainClass + "' not found on the classpath"
                    + (cp.isEmpty() ? "" : " (" + String.join(File.pathSeparator, cp) + ")")
                    + "; check the name, or add the directory or JAR that holds it with --classpath");
        } catch (NoSuchMethodException e) {
            throw new UsageException("class '" + mainClass + "' has no main(String[]) method");
        } catch (LinkageError e) {
            throw new UsageException("main class '" + mainClass + "' cannot be loaded: " + e
                    + "; a class it needs is missing from --classpath", e);
        } catch (IOException e) {
            throw new UsageException("cannot read the classpath: " + e.getMessage(), e);
        }
    }

    /** Classpath entries as java reads them, including {@code dir/*} for all JARs in a directory. */
    private static URL[] urls(List<String> cp) throws IOException {
        List<URL> urls = new ArrayList<>();
        for (String entry : cp) {
            if (entry.endsWith("/*") || entry.equals("*")) {
                Path dir = Path.of(entry.substring(0, entry.length() - 1));
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> jars = Files.list(dir)) {
                        for (Path p : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                            urls.add(url(p));
                        }
                    }
                }
            } else {
                urls.add(url(Path.of(entry)));
            }
        }
        return urls.toArray(URL[]::new);
    }

    private static URL url(Path p) throws MalformedURLException {
        return p.toAbsolutePath().toUri().toURL();
    }
}
