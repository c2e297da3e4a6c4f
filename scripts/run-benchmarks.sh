#!/usr/bin/env bash
# Runs the training benchmarks whose figures the README quotes, one after another (about 30 minutes on
# 2 cores), writing raw output and JSON into benchmarks/results/. Needs /usr/bin/python3 with
# python3-torch and libopenblas0-pthread for the PyTorch DDP rows.
set -euo pipefail
cd "$(dirname "$0")/.."
R=benchmarks/results
run() { local name=$1; shift; echo "== $name: ./trainyard $*"; ./trainyard "$@" --json "$R/$name.json" > "$R/$name.txt" 2>&1; }
run optimizer-mlp-adam bench optimizer
run scaling-mlp-sgd bench scaling --optimizer sgd --nproc 1,2 --compare torch-ddp,djl --ceiling --repeat 3 --steps 3000 --warmup 600
run scaling-mlp-adam bench scaling --optimizer adam --nproc 1,2 --compare torch-ddp,djl --ceiling --repeat 3 --steps 3000 --warmup 600
run scaling-mlp-wide-zero bench scaling --model mlp-wide --optimizer adam --nproc 1,2 --zero --compare torch-ddp --repeat 3 --steps 40 --warmup 5
run scaling-mlp-adam-zero bench scaling --optimizer adam --nproc 2 --zero --repeat 3 --steps 3000 --warmup 600
run scaling-cnn-adam bench scaling --model cnn --optimizer adam --nproc 1,2 --compare djl --ceiling --repeat 3 --steps 600 --warmup 100
run scaling-mlp-sgd-oversubscribed bench scaling --optimizer sgd --nproc 2,4 --repeat 3 --steps 3000 --warmup 600
