#!/usr/bin/env bash
# Builds what the GPU check needs into one folder (default benchmarks/gpu/bundle): a jlinked Java
# runtime, the jars without CPU libtorch (the -Dgpu dependency set) and run.sh. Run it here, where
# the JDK and Maven are; copy the folder to a GPU host that has no JDK and no network; run ./run.sh there.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$HERE/bundle}
command -v jlink >/dev/null || { echo "build-bundle: jlink (a JDK 17+) is needed" >&2; exit 2; }
command -v mvn >/dev/null || { echo "build-bundle: Maven (mvn) is needed" >&2; exit 2; }

cd "$ROOT"
mvn -B -q -DskipTests -pl benchmarks -am install
rm -rf "$OUT"
mkdir -p "$OUT/lib"
# -Dgpu leaves pytorch-native-cpu out (DJL would prefer it to the host's CUDA libtorch)
mvn -B -q -Dgpu -pl benchmarks dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$OUT/lib"
cp benchmarks/target/trainyard-benchmarks.jar "$OUT/lib/"
# of the CUDA presets' JNI wrappers only the runtime's and NCCL's are loaded: keep those two (7 MB -> 1 MB)
CUDA_NATIVE=$(ls "$OUT"/lib/cuda-*-linux-x86_64.jar)
(cd "$OUT" && mkdir -p trim && cd trim && unzip -q "$CUDA_NATIVE" 'META-INF/*' 'org/bytedeco/cuda/linux-x86_64/libjnicudart.so' \
    'org/bytedeco/cuda/linux-x86_64/libjninccl.so' && rm "$CUDA_NATIVE" && jar --create --file "$CUDA_NATIVE" --manifest META-INF/MANIFEST.MF \
    org META-INF/native-image && cd .. && rm -rf trim)
if ls "$OUT/lib" | grep -q pytorch-native-cpu; then
    echo "build-bundle: pytorch-native-cpu is still in the bundle; the -Dgpu profile did not apply" >&2
    exit 1
fi

# What Trainyard's launcher, workers, gRPC (Netty) and DJL's training path use. jdeps would also name java.desktop,
# java.sql and java.compiler for DJL's image and model-zoo classes, which training never loads.
MODULES=java.base,java.logging,java.management,java.naming,jdk.naming.dns,jdk.crypto.ec,jdk.unsupported,jdk.httpserver
jlink --add-modules "$MODULES" --strip-debug --strip-native-debug-symbols=objcopy=$(command -v objcopy) \
    --no-header-files --no-man-pages --compress=2 --output "$OUT/runtime"
cp "$HERE/run.sh" "$OUT/"
chmod +x "$OUT/run.sh"
tar -czf "$OUT.tar.gz" -C "$(dirname "$OUT")" "$(basename "$OUT")"
echo "build-bundle: runtime $(du -sh "$OUT/runtime" | cut -f1), jars $(du -sh "$OUT/lib" | cut -f1), in all $(du -sh "$OUT" | cut -f1);" \
    "$(du -h "$OUT.tar.gz" | cut -f1) as $OUT.tar.gz"
