package dev.trainyard.runtime.preflight;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every rank's results folded into one row per check: the worst status, and which ranks differ. */
record PreflightTable(List<CheckResult> rows, boolean passed) {

    static PreflightTable of(List<List<CheckResult>> perRank) {
        Map<String, List<CheckResult>> byCheck = new LinkedHashMap<>();
        Map<String, List<Integer>> ranksOf = new LinkedHashMap<>();
        for (int rank = 0; rank < perRank.size(); rank++) {
            for (CheckResult r : perRank.get(rank)) {
                byCheck.computeIfAbsent(r.check(), k -> new ArrayList<>()).add(r);
                ranksOf.computeIfAbsent(r.check(), k -> new ArrayList<>()).add(rank);
            }
        }
        List<CheckResult> rows = new ArrayList<>();
        boolean passed = true;
        for (Map.Entry<String, List<CheckResult>> e : byCheck.entrySet()) {
            List<CheckResult> rs = e.getValue();
            List<Integer> ranks = ranksOf.get(e.getKey());
            CheckResult.Status worst = rs.stream().map(CheckResult::status).max(Enum::compareTo).orElseThrow();
            passed &= worst != CheckResult.Status.FAIL;
            rows.add(new CheckResult(e.getKey(), worst, detail(rs, ranks, worst, perRank.size())));
        }
        return new PreflightTable(rows, passed);
    }

    private static String detail(List<CheckResult> rs, List<Integer> ranks, CheckResult.Status worst, int size) {
        if (rs.size() == 1) {
            return rs.get(0).detail() + (size > 1 ? " (rank " + ranks.get(0) + ")" : "");
        }
        if (rs.stream().map(CheckResult::detail).distinct().count() == 1) {
            return rs.get(0).detail() + " (all " + rs.size() + " ranks)";
        }
        if (worst == rs.get(0).status() && worst != CheckResult.Status.FAIL) {
            return rs.get(0).detail() + " (rank " + ranks.get(0) + "; others similar)";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < rs.size(); i++) {
            if (rs.get(i).status() == worst) {
                sb.append(sb.length() == 0 ? "" : "; ").append("rank ").append(ranks.get(i)).append(": ").append(rs.get(i).detail());
            }
        }
        return sb.toString();
    }
}
