#!/usr/bin/python3
"""Open MPI all-reduce sweep with the same method as Trainyard's AllReduceWorker and the Gloo peer.

Run under mpirun (one process per rank). For each size: warm-up iterations, then timed
iterations, each preceded by a barrier; rank 0 reports the median time of one in-place
all-reduce (float32 SUM). Prints one JSON object. Needs Debian's openmpi-bin and python3-mpi4py.
"""
import argparse
import json
import statistics
import sys

import numpy
from mpi4py import MPI


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--iters", type=lambda s: [int(x) for x in s.split(",")], required=True)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    comm = MPI.COMM_WORLD
    rows = []
    for size, iters in zip(args.sizes, args.iters):
        buf = numpy.ones(size // 4, dtype=numpy.float32)
        for _ in range(args.warmup):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        times = []
        for _ in range(iters):
            comm.Barrier()
            t0 = MPI.Wtime()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(MPI.Wtime() - t0)
        rows.append({"bytes": size, "iters": iters, "median_s": statistics.median(times)})
    if comm.Get_rank() == 0:
        print(json.dumps({"mpi": MPI.Get_library_version().splitlines()[0], "rows": rows}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
