#!/usr/bin/env python3
"""Top frames of a JDK Flight Recorder file's execution samples (Java code only; time in native
code such as libtorch kernels shows as the Java method that called it, or not at all).

usage: scripts/jfr-top.py FILE.jfr [N]
Record one with: ./trainyard launch --jvm-opt=-XX:StartFlightRecording=filename=w.jfr,settings=profile ...
"""
import collections
import re
import subprocess
import sys


def main():
    text = subprocess.run(['jfr', 'print', '--events', 'jdk.ExecutionSample', sys.argv[1]],
                          capture_output=True, text=True, check=True).stdout
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    leaf = collections.Counter()
    inclusive = collections.Counter()
    samples = 0
    for event in text.split('jdk.ExecutionSample')[1:]:
        frames = re.findall(r'^\s+([\w.$<>]+)\(.*?\)\s+line:', event, re.M)
        if not frames:
            continue
        samples += 1
        leaf[frames[0]] += 1
        for method in set(frames):
            inclusive[method] += 1
    print(f'{samples} samples; where they were (leaf frame):')
    for method, count in leaf.most_common(top):
        print(f'{count:6d} {100 * count / samples:5.1f} %  {method}')
    print('Trainyard methods on the stack (inclusive):')
    for method, count in inclusive.most_common():
        if method.startswith('dev.trainyard') and count * 50 >= samples:
            print(f'{count:6d} {100 * count / samples:5.1f} %  {method}')


if __name__ == '__main__':
    main()
