package dev.trainyard.testbed;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.Base64;
import java.util.List;

/**
 * A throwaway CA and one node certificate signed by it, valid two days, made with the JDK's keytool,
 * as PEM files in {@code dir}: {@code name.pem}, {@code name.key} (PKCS#8, mode 600), {@code name-ca.pem}.
 * For tests and benchmarks of mutual TLS; a real cluster's certificates come from its own CA.
 */
public record ThrowawayCertificates(Path cert, Path key, Path ca) {
    private static final String PASSWORD = "trainyard-throwaway";

    /** A certificate for 127.0.0.1 and localhost. */
    public static ThrowawayCertificates create(Path dir, String name) throws IOException, InterruptedException, GeneralSecurityException {
        return create(dir, name, List.of("127.0.0.1"));
    }

    /** A certificate for {@code addresses} (IP addresses) and localhost; every node of a test cluster can share it. */
    public static ThrowawayCertificates create(Path dir, String name, List<String> addresses)
            throws IOException, InterruptedException, GeneralSecurityException {
        Path caStore = dir.resolve(name + "-ca.p12");
        Path nodeStore = dir.resolve(name + ".p12");
        Path csr = dir.resolve(name + ".csr");
        ThrowawayCertificates c = new ThrowawayCertificates(dir.resolve(name + ".pem"), dir.resolve(name + ".key"), dir.resolve(name + "-ca.pem"));
        keytool("-genkeypair", "-keystore", caStore.toString(), "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=Trainyard test CA " + name, "-ext", "bc:c", "-validity", "2");
        keytool("-genkeypair", "-keystore", nodeStore.toString(), "-alias", "node", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=trainyard node", "-validity", "2");
        keytool("-certreq", "-keystore", nodeStore.toString(), "-alias", "node", "-file", csr.toString());
        keytool("-gencert", "-keystore", caStore.toString(), "-alias", "ca", "-infile", csr.toString(), "-outfile", c.cert().toString(),
                "-rfc", "-ext", "san=" + String.join(",", addresses.stream().map(a -> "ip:" + a).toList()) + ",dns:localhost",
                "-validity", "2");
        keytool("-exportcert", "-keystore", caStore.toString(), "-alias", "ca", "-rfc", "-file", c.ca().toString());
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(nodeStore)) {
            ks.load(in, PASSWORD.toCharArray());
        }
        byte[] pkcs8 = ks.getKey("node", PASSWORD.toCharArray()).getEncoded();
        String pem = "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(pkcs8) + "\n-----END PRIVATE KEY-----\n";
        Files.writeString(c.key(), pem);
        Files.setPosixFilePermissions(c.key(), PosixFilePermissions.fromString("rw-------"));
        return c;
    }

    /** The launch options that use these files. */
    public List<String> launchOptions() {
        return List.of("--tls-cert", cert.toString(), "--tls-key", key.toString(), "--tls-ca", ca.toString());
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString()));
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASSWORD, "-keypass", PASSWORD, "-noprompt"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException("keytool " + args[0] + " failed: " + out);
        }
    }
}
