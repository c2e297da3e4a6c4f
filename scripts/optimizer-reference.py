#!/usr/bin/python3
"""Fixed optimizer trajectories from PyTorch, kept as test data for FusedOptimizerTest.

Run with Debian's python3-torch (1.13): /usr/bin/python3 scripts/optimizer-reference.py
Writes runtime-core/src/test/resources/optimizer-reference.json. Every case trains the same
37 parameters for 50 steps on gradients g = sin(0.37 i + 0.11 t) + 0.5 p (a quadratic pull
towards 0 plus a moving target), with the learning rate of Trainyard's schedules set by hand
before each step, optionally clipping with clip_grad_norm_ first.
"""
import json
import math
import os

import torch

N, STEPS = 37, 50


def warmup_cosine(lr, warmup, total, min_factor=0.0):
    def rate(k):
        if k < warmup:
            return lr * (k + 1) / warmup
        progress = min(1.0, (k - warmup) / (total - warmup))
        return lr * (min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * progress)))
    return rate


def run(make, schedule, clip):
    p = torch.nn.Parameter(torch.tensor([math.cos(0.5 * i) for i in range(N)], dtype=torch.float32))
    opt = make([p])
    for t in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = schedule(t)
        idx = torch.arange(N, dtype=torch.float64)
        p.grad = (torch.sin(0.37 * idx + 0.11 * t).to(torch.float32) + 0.5 * p.detach())
        if clip:
            torch.nn.utils.clip_grad_norm_([p], clip)
        opt.step()
    return [float(v) for v in p.detach()]


def main():
    optimizers = {
        "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1, foreach=False),
        "momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, foreach=False),
        "nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, foreach=False),
        "adam": lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.01, foreach=False),
        "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05, foreach=False),
    }
    base = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adam": 0.01, "adamw": 0.01}
    cases = []
    for name, make in optimizers.items():
        for schedule in ("constant", "warmup-cosine"):
            for clip in (0.0, 1.0):
                lr = base[name]
                rate = (lambda k, lr=lr: lr) if schedule == "constant" else warmup_cosine(lr, 10, STEPS)
                cases.append({"optimizer": name, "schedule": schedule, "clip": clip,
                              "params": run(make, rate, clip)})
    out = os.path.join(os.path.dirname(__file__), "..", "runtime-core", "src", "test", "resources", "optimizer-reference.json")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "n": N, "steps": STEPS, "cases": cases}, f, indent=1)
    print("wrote", len(cases), "cases with torch", torch.__version__, "to", os.path.normpath(out))


if __name__ == "__main__":
    main()
