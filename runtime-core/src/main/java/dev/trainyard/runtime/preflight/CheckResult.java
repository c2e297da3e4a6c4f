package dev.trainyard.runtime.preflight;

/** One preflight check on one rank: what was checked, how it went, and the figure or reason. */
public record CheckResult(String check, Status status, String detail) {
    public enum Status { OK, WARN, SKIP, FAIL }

    static CheckResult ok(String check, String detail) {
        return new CheckResult(check, Status.OK, detail);
    }

    static CheckResult fail(String check, String detail) {
        return new CheckResult(check, Status.FAIL, detail);
    }

    /** One tab-separated line, for the store. */
    String encode() {
        return check + "\t" + status + "\t" + detail.replace('\t', ' ').replace('\n', ' ');
    }

    static CheckResult decode(String line) {
        String[] f = line.split("\t", 3);
        return new CheckResult(f[0], Status.valueOf(f[1]), f.length > 2 ? f[2] : "");
    }
}
