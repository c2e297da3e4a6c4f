#!/usr/bin/env bash
# Checks and times Trainyard's NCCL path on this GPU host; needs the NVIDIA driver, the CUDA 12 runtime
# and libnccl.so.2 (NCCL 2.27.3 or newer; add its directory to LD_LIBRARY_PATH), no JDK, no network.
#   ./run.sh [RESULTS_DIR]     (MAX_BYTES=... limits the busbw sweep; default 1 GiB)
# Writes RESULTS_DIR/nccl-1rank.json and, with two or more GPUs, nccl-2rank.json (2 ranks through the launcher).
# With PYTORCH_FLAVOR=cu128 (libtorch's CUDA build in ENGINE_CACHE_DIR, see the README) it also trains the
# Fashion-MNIST example on the GPUs through the launcher; its run report lands in RESULTS_DIR/run-train/.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${1:-$HERE/results}
MAX_BYTES=${MAX_BYTES:-1073741824}
JAVA="$HERE/runtime/bin/java"
CP="$HERE/lib/*"
mkdir -p "$RESULTS"
# JavaCPP unpacks its JNI wrappers once; keep them beside the results rather than in a home that may be read-only
export JAVA_TOOL_OPTIONS="-Dorg.bytedeco.javacpp.cachedir=$RESULTS/.javacpp-cache ${JAVA_TOOL_OPTIONS:-}"
status=0

echo "== 1 rank on GPU 0"
CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0} "$JAVA" -cp "$CP" dev.trainyard.bench.gpu.NcclCheck \
    "$RESULTS/nccl-1rank.json" "$MAX_BYTES" 2>&1 | tee "$RESULTS/nccl-1rank.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

gpus=$(ls /proc/driver/nvidia/gpus 2>/dev/null | wc -l)
if [ "$gpus" -ge 2 ]; then
    echo "== 2 ranks through the launcher (--backend nccl)"
    "$JAVA" -cp "$CP" dev.trainyard.launcher.TrainyardCli launch --backend nccl --nproc-per-node 2 --no-preflight \
        --verbose --run-dir "$RESULTS/run-2rank" dev.trainyard.bench.gpu.NcclCheck "$RESULTS/nccl-2rank.json" "$MAX_BYTES" \
        2>&1 | tee "$RESULTS/nccl-2rank.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
    echo "== $gpus GPU(s) visible: the 2-rank check through the launcher needs two; skipped"
    echo "{\"skipped\":\"$gpus GPU(s) on this host; 2 are needed\"}" > "$RESULTS/nccl-2rank.json"
fi
if [ -n "${PYTORCH_FLAVOR:-}" ]; then
    n=$(( gpus >= 2 ? 2 : 1 ))
    echo "== DJL training on $n GPU(s): the fashion-mnist example through the launcher (--backend nccl)"
    "$JAVA" -cp "$CP" dev.trainyard.launcher.TrainyardCli launch --backend nccl --nproc-per-node "$n" --no-preflight \
        --verbose --run-dir "$RESULTS/run-train" --example fashion-mnist -- --epochs 2 2>&1 | tee "$RESULTS/train.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
    echo "== DJL training on the GPU skipped: provide libtorch's CUDA build and set PYTORCH_FLAVOR=cu128 (README)"
fi
echo "results in $RESULTS (exit $status)"
exit $status
