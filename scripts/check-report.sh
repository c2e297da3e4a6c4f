#!/usr/bin/env bash
# Opens a run's report.html in headless Chromium (Debian: apt-get install chromium), saves a
# screenshot beside it and fails if the page logged an error or its charts did not render.
# Usage: scripts/check-report.sh RUN_DIR
set -euo pipefail
dir=${1:?usage: scripts/check-report.sh RUN_DIR}
html=$(realpath "$dir/report.html")
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "check-report: chromium is not installed (apt-get install chromium)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0)
"$browser" "${flags[@]}" --window-size=1000,4000 --screenshot="$dir/report.png" "file://$html" 2> "$dir/report-console.log" >/dev/null
dom=$("$browser" "${flags[@]}" --dump-dom "file://$html" 2>> "$dir/report-console.log")
charts=$(grep -o '<svg' <<<"$dom" | wc -l)
if grep -E 'CONSOLE.*(error|Error)|Uncaught' "$dir/report-console.log"; then
  echo "check-report: the page logged errors (see $dir/report-console.log)" >&2; exit 1
fi
[ -s "$dir/report.png" ] || { echo "check-report: no screenshot was written" >&2; exit 1; }
[ "$charts" -ge 3 ] || { echo "check-report: only $charts chart(s) in the rendered page" >&2; exit 1; }
echo "check-report: $charts charts rendered, no console errors; screenshot $dir/report.png"
