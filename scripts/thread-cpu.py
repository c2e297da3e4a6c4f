#!/usr/bin/env python3
"""Per-thread CPU and context switches of every running JVM over an interval (Linux /proc).

usage: scripts/thread-cpu.py SECONDS   (start a job first, e.g. ./trainyard launch ...)
Prints, per thread above 0.5 % CPU or 50 voluntary switches/s: its process, name, CPU share and
voluntary / involuntary context switches per second, then each process's total CPU.
"""
import os
import subprocess
import sys
import time

TICKS = os.sysconf('SC_CLK_TCK')


def snapshot():
    out = {}
    for pid in subprocess.run(['pgrep', 'java'], capture_output=True, text=True).stdout.split():
        try:
            tasks = os.listdir(f'/proc/{pid}/task')
        except OSError:
            continue
        for tid in tasks:
            try:
                stat = open(f'/proc/{pid}/task/{tid}/stat').read()
                name = stat[stat.index('(') + 1:stat.rindex(')')]
                fields = stat[stat.rindex(')') + 2:].split()
                status = open(f'/proc/{pid}/task/{tid}/status').read().splitlines()
                switches = [int(l.split()[1]) for l in status if l.startswith(('voluntary_ctxt', 'nonvoluntary_ctxt'))]
                out[(pid, tid)] = (name, int(fields[11]) + int(fields[12]), switches[0], switches[1])
            except (OSError, ValueError, IndexError):
                pass  # the thread ended between the listing and the read
    return out


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
    before = snapshot()
    time.sleep(seconds)
    after = snapshot()
    totals = {}
    for key, (name, cpu, vol, invol) in sorted(after.items()):
        if key not in before:
            continue
        _, cpu0, vol0, invol0 = before[key]
        share = (cpu - cpu0) / TICKS / seconds * 100
        totals[key[0]] = totals.get(key[0], 0) + share
        if share > 0.5 or (vol - vol0) / seconds > 50:
            print(f'{key[0]:>7} {name:<24} cpu {share:5.1f} %  voluntary/s {(vol - vol0) / seconds:7.0f}  involuntary/s {(invol - invol0) / seconds:6.0f}')
    for pid, share in totals.items():
        print(f'pid {pid}: {share:.1f} % CPU in total')


if __name__ == '__main__':
    main()
