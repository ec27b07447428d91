"""Data parallelism: the course's fully-connected net (input -> 16 tanh -> 10 classes) trained on
digits by several processes at once, each on its own share of the data.

    mpirun -n 2 python examples/10_data_parallel.py
    tinygrad-edu-run --nproc 2 examples/10_data_parallel.py
    python examples/10_data_parallel.py          # one process: the same code, world size 1

What each process does (they all run this same script):
  1 join the group    dist.init_process_group("mpi"): mpirun tells each process its rank
                      (0, 1, ...) and the world size
  2 the same model    DistributedDataParallel(model) copies rank 0's weights to every process
  3 its share         DistributedSampler deals each epoch's samples out to the processes
                      (set_epoch(epoch): a new order every epoch, the same on every process)
  4 train             loss.backward() also averages the gradients over the processes, so
                      every process takes the same optimizer step and the models stay equal
  5 rank 0 reports    the losses are summed over the processes (all_reduce); only rank 0
                      prints, evaluates and saves (the network's own state_dict)

With P processes and --batch-size B, a step trains on P * B samples: B per process.
"""

import os

from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import distributed as dist
from tinygrad_edu import nn
from tinygrad_edu.nn.parallel import DistributedDataParallel
from tinygrad_edu.train import load_data
from tinygrad_edu.utils.data import DataLoader, DistributedSampler, Subset


def main() -> None:
    args = parse_args(__doc__, epochs=dict(type=int, default=10),
                      lr=dict(type=float, default=0.1),
                      batch_size=dict(type=int, default=16, help="per process"))
    dist.init_process_group("mpi")                              # step 1
    rank, world = dist.get_rank(), dist.get_world_size()
    device = args.device

    def say(*text: object) -> None:
        if rank == 0:
            print(*text, flush=True)

    train_set, test_set = load_data("digits", None)
    if args.quick:
        train_set, args.epochs = Subset(train_set, range(320)), 2
    say(f"{world} process{'es' * (world > 1)}, {len(train_set)} training samples, "
        f"batches of {args.batch_size} per process")

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10))
    model.to(device)
    ddp = DistributedDataParallel(model)                        # step 2
    loss_fn = nn.CrossEntropyLoss()
    optimizer = tg.optim.SGD(ddp.parameters(), lr=args.lr)

    sampler = DistributedSampler(train_set, seed=args.seed)     # step 3
    loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    say(f"rank 0's share: {len(sampler)} samples, {len(loader)} steps per epoch")

    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)
        loss_sum, count = 0.0, 0
        for x, y in loader:                                     # step 4
            x, y = x.to(device), y.to(device)
            loss = loss_fn(ddp(x), y)
            optimizer.zero_grad()
            loss.backward()          # the gradients are averaged over the processes here
            optimizer.step()
            loss_sum, count = loss_sum + loss.item() * len(y), count + len(y)
        total = tg.tensor([loss_sum, count], dtype=tg.float64)
        dist.all_reduce(total)                                  # step 5: the sums of all ranks
        say(f"epoch {epoch:>2}: train loss {(total[0] / total[1]).item():.4f} "
            f"over {int(total[1].item())} samples")

    # every process holds the same weights: the smallest and the largest checksum agree
    checksum = sum(p.detach().double().sum().item() for p in model.parameters())
    low, high = tg.tensor([checksum], dtype=tg.float64), tg.tensor([checksum], dtype=tg.float64)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    say(f"the same weights on every process: {bool((low == high).item())}")

    if rank == 0:
        model.eval()
        with tg.no_grad():
            x, y = next(iter(DataLoader(test_set, batch_size=len(test_set))))
            accuracy = (model(x.to(device)).argmax(1).cpu() == y).float().mean().item()
        print(f"test accuracy {100 * accuracy:.2f}%")
        path = os.path.join(args.out, "data_parallel.pt")
        tg.save(model.state_dict(), path)  # model's own names ("1.weight"), not ddp's
        print(f"wrote {path}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
