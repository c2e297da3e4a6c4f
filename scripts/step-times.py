#!/usr/bin/env python3
"""Distribution of step wall times in a run directory's metrics, and what the slow steps spent.

usage: scripts/step-times.py RUN_DIR [SKIP_STEPS] [SLOW_MS]
Per rank: mean, percentiles, a histogram in 0.5 ms bins (8 ms and above in the last), and the mean
phases of the steps slower than SLOW_MS (default 8): which phase makes the tail.
"""
import collections
import glob
import json
import sys

PHASES = ['data_wait_s', 'forward_s', 'loss_s', 'backward_s', 'other_s', 'exposed_comm_s', 'optimizer_s']


def main():
    run = sys.argv[1]
    skip = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    slow_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 8
    for path in sorted(glob.glob(run + '/metrics-rank-*.jsonl')):
        steps = []
        for line in open(path):
            try:
                m = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill
            if m['step'] > skip:
                steps.append(m)
        if not steps:
            continue
        walls = sorted(m['wall_s'] * 1e3 for m in steps)
        n = len(walls)
        print(f'{path}: {n} steps, mean {sum(walls) / n:.3f} ms, p10 {walls[n // 10]:.3f}, p50 {walls[n // 2]:.3f},'
              f' p90 {walls[n * 9 // 10]:.3f}, p99 {walls[n * 99 // 100]:.3f}')
        bins = collections.Counter(min(int(w * 2) / 2, 8.0) for w in walls)
        print('  histogram (ms: steps):', ', '.join(f'{b:g}: {c}' for b, c in sorted(bins.items())))
        slow = [m for m in steps if m['wall_s'] * 1e3 >= slow_ms]
        if slow:
            means = ', '.join(f'{p[:-2]} {sum(m[p] for m in slow) / len(slow) * 1e3:.2f}' for p in PHASES)
            print(f'  {len(slow)} steps >= {slow_ms:g} ms, mean phases (ms): {means}')


if __name__ == '__main__':
    main()
