#!/usr/bin/python3
"""PyTorch Gloo all-reduce sweep with the same method as Trainyard's AllReduceWorker.

For each size: warm-up iterations, then timed iterations, each preceded by a barrier;
rank 0 reports the median time of one all-reduce (float32 SUM). Prints one JSON object.
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import argparse
import json
import os
import statistics
import sys
import time


def worker(rank, args, queue):
    import torch
    import torch.distributed as dist
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(args.port)
    dist.init_process_group("gloo", rank=rank, world_size=args.nproc)
    rows = []
    for size, iters in zip(args.sizes, args.iters):
        t = torch.ones(size // 4, dtype=torch.float32)
        for _ in range(args.warmup):
            dist.all_reduce(t)
        times = []
        for _ in range(iters):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - t0)
        rows.append({"bytes": size, "iters": iters, "median_s": statistics.median(times)})
    if rank == 0:
        if queue is None:
            print(json.dumps({"torch": torch.__version__, "rows": rows}), flush=True)
        else:
            queue.put(rows)
    dist.barrier()
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nproc", type=int, required=True)
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--iters", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rank", type=int, help="run only this rank here (one process per simulated host)")
    args = p.parse_args()
    if args.rank is not None:
        worker(args.rank, args, None)  # MASTER_ADDR and GLOO_SOCKET_IFNAME come from the environment
        return 0
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import torch
    import torch.multiprocessing as mp
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, args, queue)) for r in range(args.nproc)]
    for pr in procs:
        pr.start()
    rows = queue.get(timeout=3600)
    for pr in procs:
        pr.join(timeout=60)
    print(json.dumps({"torch": torch.__version__, "rows": rows}))
    return 0 if all(pr.exitcode == 0 for pr in procs) else 1


if __name__ == "__main__":
    sys.exit(main())
