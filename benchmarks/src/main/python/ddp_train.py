# One rank of PyTorch DDP (Gloo) training the same model, optimizer and batch as Trainyard's
# scaling benchmark, with the same data path (slices of an in-memory random tensor).
# Rank 0 prints: RESULT samples_per_s step_s
import argparse, os, time
import torch
import torch.distributed as dist
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument("--model", default="mlp", choices=["mlp", "mlp-wide", "cnn", "resnet", "gpt"])
p.add_argument("--batch", type=int, default=64)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--warmup", type=int, default=30)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
# DDP's first bucket is 1 MiB like Trainyard's; a smaller one is passed as bucket_cap_mb (DDP then uses it for every bucket)
p.add_argument("--first-bucket-bytes", type=int, default=0)
# Trainyard's backward stages: DDP launches each bucket from per-parameter hooks, so it has no such setting
p.add_argument("--stages", type=int, default=0)
a = p.parse_args()

CONTEXT = 64


def conv_bn(cin, cout, kernel, stride):
    return [nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(cout)]


class Residual(nn.Module):
    """relu(main(x) + shortcut(x)), as Trainyard's Models.resnet builds it."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.main = nn.Sequential(*conv_bn(cin, cout, 3, stride), nn.ReLU(), *conv_bn(cout, cout, 3, 1))
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def resnet(width):
    """ResNet-18's layout for 28x28 images: 3x3 stem, 4 stages of 2 basic units, global pooling, 10 classes."""
    layers = [*conv_bn(1, width, 3, 1), nn.ReLU()]
    cin = width
    for stage in range(4):
        cout = width << stage
        layers += [Residual(cin, cout, 1 if stage == 0 else 2), Residual(cout, cout, 1)]
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10))


class Attention(nn.Module):
    """Causal multi-head self-attention with the same operations as Trainyard's CausalSelfAttention."""
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.projection = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = (z.reshape(b, t, h, d // h).transpose(1, 2) for z in self.qkv(x).split(d, dim=2))
        scores = q @ k.transpose(2, 3) / (d // h) ** 0.5
        mask = torch.triu(torch.full((t, t), -1e9), diagonal=1)
        return self.projection(((scores + mask).softmax(-1) @ v).transpose(1, 2).reshape(b, t, d))


class Layer(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attention_norm, self.attention = nn.LayerNorm(dim), Attention(dim, heads)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attention(self.attention_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class Gpt(nn.Module):
    """Token and position embeddings, pre-norm decoder layers, final norm, scores (batch * time, vocabulary)."""
    def __init__(self, vocabulary, context, dim, layers, heads):
        super().__init__()
        self.tokens = nn.Embedding(vocabulary, dim)
        self.positions = nn.Parameter(torch.randn(context, dim) * 0.02)
        self.layers = nn.Sequential(*[Layer(dim, heads) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.scores = nn.Linear(dim, vocabulary, bias=False)

    def forward(self, ids):
        x = self.tokens(ids) + self.positions[:ids.shape[1]]
        return self.scores(self.norm(self.layers(x))).reshape(-1, self.scores.out_features)


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
elif a.model == "resnet":
    model = resnet(16)
    shape = (1, 28, 28)
elif a.model == "gpt":
    model = Gpt(256, CONTEXT, 256, 4, 4)
    shape = (CONTEXT,)
else:
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    shape = (1, 28, 28)
ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=a.first_bucket_bytes / 2**20 if a.first_bucket_bytes else 25)
opt = torch.optim.Adam(ddp.parameters(), lr=1e-3) if a.optimizer == "adam" else torch.optim.SGD(ddp.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
n = 8192
if a.model == "gpt":  # random bytes and their next bytes, one window of CONTEXT per sample
    x = torch.randint(0, 256, (n, CONTEXT))
    y = torch.randint(0, 256, (n, CONTEXT))
else:
    x = torch.rand((n,) + shape)
    y = torch.randint(0, 10, (n,))
t0 = 0.0
for s in range(a.warmup + a.steps):
    if s == a.warmup:
        dist.barrier()
        t0 = time.perf_counter()
    start = (s * a.batch * world + rank * a.batch) % (n - a.batch)
    opt.zero_grad()
    loss = loss_fn(ddp(x[start:start + a.batch]), y[start:start + a.batch].reshape(-1))
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
