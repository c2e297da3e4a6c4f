# One rank of PyTorch DDP (Gloo) training the same model, optimizer and batch as Trainyard's
# scaling benchmark, with the same data path (slices of an in-memory random tensor).
# Rank 0 prints: RESULT samples_per_s step_s
import argparse, os, time
import torch
import torch.distributed as dist
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--model", default="mlp")
p.add_argument("--batch", type=int, default=64)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--warmup", type=int, default=30)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
# DDP's first bucket is 1 MiB like Trainyard's; a smaller one is passed as bucket_cap_mb (DDP then uses it for every bucket)
p.add_argument("--first-bucket-bytes", type=int, default=0)
a = p.parse_args()

rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
torch.set_num_threads(a.threads)
torch.set_num_interop_threads(1)
addr = os.environ.get("MASTER_ADDR", "127.0.0.1")
dist.init_process_group("gloo", init_method="tcp://%s:%s" % (addr, os.environ["MASTER_PORT"]), rank=rank, world_size=world)
torch.manual_seed(1)
if a.model == "mlp":
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    shape = (784,)
elif a.model == "mlp-wide":
    model = nn.Sequential(nn.Linear(784, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 10))
    shape = (784,)
else:
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    shape = (1, 28, 28)
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=a.first_bucket_bytes / 2**20 if a.first_bucket_bytes else 25)
opt = torch.optim.Adam(ddp.parameters(), lr=1e-3) if a.optimizer == "adam" else torch.optim.SGD(ddp.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
n = 8192
x = torch.rand((n,) + shape)
y = torch.randint(0, 10, (n,))
t0 = 0.0
for s in range(a.warmup + a.steps):
    if s == a.warmup:
        dist.barrier()
        t0 = time.perf_counter()
    start = (s * a.batch * world + rank * a.batch) % (n - a.batch)
    opt.zero_grad()
    loss = loss_fn(ddp(x[start:start + a.batch]), y[start:start + a.batch])
    loss.backward()
    opt.step()
dist.barrier()
seconds = time.perf_counter() - t0
if rank == 0:
    # which BLAS libblas.so.3 resolved to decides PyTorch's speed here (Debian's reference BLAS is slow)
    blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l and l.split()[-1].startswith("/")})
    print("PEER torch %s blas %s" % (torch.__version__, ",".join(blas) or "unknown"), flush=True)
    print("RESULT %.3f %.6f" % (a.steps * a.batch * world / seconds, seconds / a.steps), flush=True)
dist.destroy_process_group()
