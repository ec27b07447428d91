"""The training command: `python -m tinygrad_edu.train` (or `tinygrad-edu-train`).

With no arguments it trains an MLP on the digits data that ships with scikit-learn (no
download) and writes, under --out:

    metrics.json        per epoch: train loss, test loss, test accuracy, seconds; for a
                        two-class dataset also "test": accuracy, ROC AUC, average precision,
                        sensitivity, specificity, precision, F1 and the confusion matrix at a
                        threshold chosen on the validation split (Youden's J; 0.5 without one)
    curves.png          loss and accuracy curves
    confusion.png       the annotated confusion matrix of the test set
    misclassified.png   the most confident errors
    roc.png             (two classes) the test ROC curve and the chosen operating point
    model.ckpt          model + optimizer state after the last finished epoch (tg.load reads
                        it; --resume continues from it with the same --optimizer)

The MedMNIST sets (--dataset pneumonia, breastmnist, dermamnist, bloodmnist, organamnist) are
read from --data-root (default $TINYGRAD_EDU_MEDMNIST_ROOT, else ~/.medmnist) as <name>.npz;
they train on the train split with class weights in the loss (their classes are imbalanced),
choose the threshold on the val split and report on the test split.

With --distributed it trains data-parallel on the processes an MPI launcher started
(`mpirun -n 2 python -m tinygrad_edu.train --distributed`, or `tinygrad-edu-run --nproc 2 -m
tinygrad_edu.train --distributed`): each process takes its share of every epoch
(DistributedSampler) in batches of --batch-size (per process, as in PyTorch), the gradients are
averaged over the processes (DistributedDataParallel), the losses and accuracies are summed over
them so that every process has the same numbers, and only rank 0 prints and writes files. The
checkpoint holds the network's own state_dict (no "module." prefix): a distributed run resumes
from a one-process checkpoint and the other way round. --resume must be readable on every
process's machine.

Problems end with one line on stderr: exit status 2 for bad arguments or an unusable
--resume checkpoint, 1 when the run fails (the loss became NaN or infinite, a file could not be
written), 130 on Ctrl-C. The checkpoint of the last finished epoch is kept in every case.
In a distributed run a problem that only some processes meet (rank 0 cannot write a file) is
printed by each of them and ends every process (MPI_Abort), since the others would otherwise
wait forever for them in the next collective.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import traceback
from typing import Any, Callable, Iterator, Sequence

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.distributed.run import positive_int
from tinygrad_edu.metrics import binary_report, confusion_matrix, roc_curve, youden_threshold
from tinygrad_edu.utils.data import DataLoader, DistributedSampler

PROG = "python -m tinygrad_edu.train"
MEDMNIST = {"pneumonia": "PneumoniaMNIST", "breastmnist": "BreastMNIST",
            "dermamnist": "DermaMNIST", "bloodmnist": "BloodMNIST",
            "organamnist": "OrganAMNIST"}  # (ChestMNIST is multi-label: not for this loss)
DATASETS = ("digits", "breast-cancer", "fashion-mnist", "mnist", "cifar10", *MEDMNIST)
MODELS = ("mlp", "cnn")
OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")
MAX_SEED = 2**32 - 1


class TrainError(Exception):
    """A problem the user can fix (bad data, an incompatible checkpoint, a diverged run, a full
    disk): printed in one line. `status` is the exit status: 2 (the default) for bad arguments
    or inputs, 1 for a run that failed, 130 for Ctrl-C."""

    def __init__(self, message: str, status: int = 2, everywhere: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.everywhere = everywhere  # every process of a distributed run raises it together


class _World:
    """The processes of the run: one, or those of a --distributed run (tg.distributed's
    process group, over MPI), with the few collectives the command needs."""

    def __init__(self, rank: int = 0, size: int = 1, dist: Any = None) -> None:
        self.rank, self.size, self.dist = rank, size, dist

    @classmethod
    def start(cls, device: str) -> _World:
        """Join the process group of the MPI launcher (world size 1 without one)."""
        try:
            import mpi4py  # noqa: F401
        except ImportError:
            raise TrainError("--distributed needs mpi4py and an MPI library: pip install mpi4py "
                             "(Debian: apt install openmpi-bin libopenmpi-dev)") from None
        from tinygrad_edu import distributed as dist

        if not dist.is_initialized():
            nccl = device.startswith("cuda") and dist.is_nccl_available()
            dist.init_process_group("nccl" if nccl else "mpi")
        return cls(dist.get_rank(), dist.get_world_size(), dist)

    def local_device(self, device: str) -> str:
        """"cuda" means this process's own GPU on a machine with several (by local rank)."""
        if self.size == 1 or device != "cuda" or not tg.cuda.is_available():
            return device
        local = next((os.environ[k] for k in ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                                              "LOCAL_RANK") if k in os.environ), "0")
        return f"cuda:{int(local) % tg.cuda.device_count()}"

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model to train: wrapped in DistributedDataParallel in a distributed run."""
        if self.dist is None:
            return model
        from tinygrad_edu.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def reduce(self, tensor: tg.Tensor, op: str = "SUM") -> Any:
        """The values of `tensor` summed (op "MIN": their minimum) over the processes, as
        Python numbers (tensor.tolist())."""
        if self.size > 1:
            tensor = tensor.clone()
            self.dist.all_reduce(tensor, op=getattr(self.dist.ReduceOp, op))
        return tensor.tolist()

    def sync_buffers(self, model: nn.Module) -> None:
        """Rank 0's buffers (BatchNorm's running statistics) on every process: each process
        updated its own from its own batches."""
        if self.size > 1:
            for buffer in model.buffers():
                self.dist.broadcast(buffer, src=0)

    def fail(self, status: int, message: object, kind: str | None = "error",
             everywhere: bool = False) -> int:
        """Say what went wrong (rank 0 alone when every process met it) and return the exit
        status; a problem of some processes only ends every process (MPI_Abort)."""
        if self.rank == 0 or not everywhere:
            _say(kind, message, self.rank)
        if self.size > 1 and not everywhere:
            self.abort(status)
        self.stop()
        return status

    def crash(self) -> None:
        """A bug: with several processes, its traceback now and every process ends (the
        others would wait for this one forever); with one, Python's usual traceback."""
        if self.size > 1:
            traceback.print_exc()
            self.abort(1)

    def abort(self, status: int) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        from mpi4py import MPI

        MPI.COMM_WORLD.Abort(status)

    def stop(self) -> None:
        if self.dist is not None and self.dist.is_initialized():
            self.dist.destroy_process_group()


def load_data(name: str, root: str | None) -> tuple[Any, Any]:
    from tinygrad_edu import datasets
    from tinygrad_edu.vision.transforms import ToTensor

    if name == "digits":
        return datasets.Digits(train=True), datasets.Digits(train=False)
    if name == "breast-cancer":
        return datasets.BreastCancer(train=True), datasets.BreastCancer(train=False)
    if name in MEDMNIST:
        return load_medmnist(name, root, "train"), load_medmnist(name, root, "test")
    cls = {"fashion-mnist": datasets.FashionMNIST, "mnist": datasets.MNIST,
           "cifar10": datasets.CIFAR10}[name]
    root = root or os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_edu")
    # images come as torchvision gives them (PIL or uint8 arrays) until ToTensor
    return (cls(root, train=True, transform=ToTensor()),
            cls(root, train=False, transform=ToTensor()))


def load_medmnist(name: str, root: str | None, split: str) -> Any:
    """One split of a MedMNIST set as float32 Tensors (C, 28, 28) in [0, 1]."""
    from tinygrad_edu.vision import datasets
    from tinygrad_edu.vision.datasets.medmnist import default_root
    from tinygrad_edu.vision.transforms import ToTensor

    cls = getattr(datasets, MEDMNIST[name])
    return cls(root or default_root(), split=split, transform=ToTensor())


def load_val(name: str, root: str | None) -> Any | None:
    """The validation split where the dataset has one (the MedMNIST sets), else None."""
    return load_medmnist(name, root, "val") if name in MEDMNIST else None


def class_weights(dataset: Any, num_classes: int) -> np.ndarray:
    """N / (C * count of each class): every class weighs the same in the loss in total."""
    indices = getattr(dataset, "indices", None)  # a Subset (--quick)
    targets = np.asarray(getattr(dataset, "dataset", dataset).targets)
    targets = targets if indices is None else targets[np.asarray(indices)]
    counts = np.bincount(targets, minlength=num_classes)
    return (len(targets) / (num_classes * np.maximum(counts, 1))).astype(np.float32)


def build_model(kind: str, sample_shape: tuple, num_classes: int) -> nn.Module:
    """mlp: flatten -> 256 -> 128 -> classes (ReLU; tabular inputs are standardised by a
    BatchNorm1d first). cnn: the course's CNN, sized to the input:
    conv 5x5 -> ReLU -> max-pool 2 -> conv 5x5 -> ReLU -> max-pool 2 -> 120 -> 84 -> classes."""
    if kind == "mlp":
        features = math.prod(sample_shape)
        # tabular columns come in wildly different units: standardise them first
        scale = [nn.BatchNorm1d(features)] if len(sample_shape) == 1 else []
        return nn.Sequential(nn.Flatten(), *scale, nn.Linear(features, 256), nn.ReLU(),
                             nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, num_classes))
    if len(sample_shape) != 3:
        raise TrainError(f"model 'cnn' needs images (C, H, W), but this dataset's samples have "
                         f"shape {tuple(sample_shape)}; use --model mlp")
    channels, height, width = sample_shape
    features = nn.Sequential(nn.Conv2d(channels, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    flat = 32 * (height // 4) * (width // 4)
    return nn.Sequential(*features, nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(),
                         nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


def build_schedule(kind: str, optimizer: Any, epochs: int, epochs_done: int = 0) -> Any:
    """The learning rate of each epoch, stepped once per epoch. cosine: lr * (1 + cos(pi * k /
    epochs)) / 2 after k epochs (the last epochs take small steps, so the final model is not
    one noisy step away from a good one); constant: lr throughout. It depends only on the
    epochs done, so a resumed run continues the same curve (the group's "initial_lr")."""
    def cosine(k: int) -> float:
        return 0.5 * (1 + math.cos(math.pi * min(k, epochs) / epochs))

    return tg.optim.lr_scheduler.LambdaLR(optimizer, cosine if kind == "cosine" else
                                          (lambda k: 1.0), last_epoch=epochs_done - 1)


def build_optimizer(kind: str, params: Any, lr: float) -> tg.optim.Optimizer:
    """sgd: SGD with momentum 0.9; adam: Adam with its defaults."""
    if kind == "sgd":
        return tg.optim.SGD(params, lr=lr, momentum=0.9)
    return tg.optim.Adam(params, lr=lr)


def evaluate(model: nn.Module, loader: DataLoader, device: str, loss_fn: Any
             ) -> tuple[float, np.ndarray, np.ndarray]:
    """Mean loss, predicted probabilities (N, C) and targets (N,) over a loader."""
    model.eval()
    total, count, probs, targets = 0.0, 0, [], []
    with tg.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total += loss_fn(logits, y).item() * len(y)
            count += len(y)
            probs.append(tg.backend.to_numpy(logits.softmax(-1).array))
            targets.append(tg.backend.to_numpy(y.array))
    model.train()
    return total / max(count, 1), np.concatenate(probs), np.concatenate(targets)


def nonfinite_entry(model: nn.Module) -> str | None:
    """The name of the first entry of the model's state_dict holding a NaN or an infinity, or
    None when all are finite (one read from the device for the whole model)."""
    state = model.state_dict()
    if not state:
        return None
    finite = tg.backend.to_numpy(tg.stack([v.isfinite().all() for v in state.values()]).array)
    return next((name for name, ok in zip(state, finite) if not ok), None)


PROGRESS_EVERY = 20  # steps between reads of the running loss (each read waits for the GPU)


def _progress(loader: DataLoader, epoch: int, epochs: int, quiet: bool, processes: int = 1
              ) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=len(loader.sampler) * processes, desc=f"epoch {epoch}/{epochs}", unit="img",
                leave=True, file=sys.stdout, dynamic_ncols=True,
                disable=True if quiet else None)  # None: no bar when output is not a terminal


class _Run:
    """How far a run got, for the message when it stops early: which checkpoint is good."""

    def __init__(self, ckpt: str) -> None:
        self.ckpt = ckpt
        self.phase = "starting"  # starting, training, evaluating, saving, reports
        self.epoch, self.step, self.steps = 0, 0, 0
        self.saved_epoch: int | None = None  # the last epoch this run wrote to self.ckpt
        self.resumed: tuple[str, int] | None = None  # (checkpoint, its epoch)

    def where(self) -> str:
        if self.phase == "training":
            return f"during epoch {self.epoch} (step {self.step} of {self.steps})"
        if self.phase == "evaluating":
            return f"while evaluating epoch {self.epoch}"
        if self.phase == "saving":
            return f"while saving the checkpoint of epoch {self.epoch}"
        if self.phase == "reports":
            return "after training, while writing the reports"
        return "before training started"

    def kept(self) -> str:
        if self.saved_epoch is not None:
            return (f"{self.ckpt} holds epoch {self.saved_epoch} "
                    f"(continue with --resume {self.ckpt})")
        if self.resumed is not None:
            path, epoch = self.resumed
            return f"no checkpoint was written; {path} still holds epoch {epoch}"
        return "no checkpoint was written"


def train(args: argparse.Namespace, world: _World | None = None) -> dict:
    """Train as the command line says, on the processes of `world` (a --distributed run's,
    joined by main; default: this process alone); problems raise TrainError (Ctrl-C included,
    with status 130), whose message says which checkpoint is the last good one."""
    world = world or _World()
    run = _Run(os.path.join(args.out, "model.ckpt"))
    try:
        # NaN and overflow are checked for and reported in one line: no NumPy warnings too
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"), \
                _printing(world.rank == 0):  # in a distributed run only rank 0 prints
            return _train(args, run, world)
    except KeyboardInterrupt:
        raise TrainError(f"interrupted {run.where()}; {run.kept()}", status=130) from None
    except TrainError as exc:
        if exc.status == 2:
            raise
        raise TrainError(f"{exc}; {run.kept()}", status=exc.status,
                         everywhere=exc.everywhere) from None


@contextlib.contextmanager
def _printing(on: bool) -> Iterator[None]:
    """Standard output as it is, or (on=False) thrown away."""
    if on:
        yield
        return
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def _train(args: argparse.Namespace, run: _Run, world: _World) -> dict:
    tg.manual_seed(args.seed)
    device = world.local_device(args.device)
    if device.startswith("cuda") and not tg.cuda.is_available():
        raise TrainError(f"--device {device}: {tg.cuda.unavailable_reason()}")
    train_set, test_set = load_data(args.dataset, args.data_root)
    if args.quick:  # a seeded sample (a file sorted by class would give one class only)
        pick = np.random.default_rng(args.seed)

        def sample(dataset: Any, n: int) -> Any:
            return tg.utils.data.Subset(dataset, np.sort(pick.permutation(len(dataset))[:n])
                                        .tolist())

        train_set, test_set = sample(train_set, 512), sample(test_set, 256)
    classes = list(getattr(train_set, "classes", None) or train_set.dataset.classes)
    sample_shape = tuple(train_set[0][0].shape)
    model = build_model(args.model, sample_shape, len(classes)).to(device)
    optimizer = build_optimizer(args.optimizer, model.parameters(), args.lr)
    weight = None  # MedMNIST's classes are imbalanced (9 pneumonia images to 1 normal)
    if args.dataset in MEDMNIST:
        weight = tg.tensor(class_weights(train_set, len(classes)), device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    val_set = load_val(args.dataset, args.data_root)
    config = {"dataset": args.dataset, "model": args.model, "classes": classes,
              "sample_shape": list(sample_shape), "optimizer": type(optimizer).__name__,
              "schedule": args.schedule}

    history: list[dict] = []
    start_epoch = 1
    if args.resume:
        start_epoch, history = resume(args.resume, model, optimizer, config, device)
        run.resumed = (args.resume, start_epoch - 1)
        for group in optimizer.param_groups:  # an explicit --lr wins over the checkpoint's
            group["initial_lr"] = args.lr if args.lr_given else group.get("initial_lr",
                                                                          group["lr"])
        if start_epoch > args.epochs:
            print(f"nothing to train: the checkpoint holds {start_epoch - 1} epochs and "
                  f"--epochs is {args.epochs}; writing the reports again")
    schedule = build_schedule(args.schedule, optimizer, args.epochs, start_epoch - 1)
    sampler = None
    if args.distributed:  # this process's share of each epoch, a new order every epoch
        sampler = DistributedSampler(train_set, seed=args.seed)
        train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=sampler)
    else:
        train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                  seed=args.seed + start_epoch)
    test_loader = DataLoader(test_set, batch_size=512)
    # each epoch's test loss and accuracy: every process evaluates its slice of the test set
    epoch_test_loader = test_loader if world.size == 1 else DataLoader(
        tg.utils.data.Subset(test_set, range(world.rank, len(test_set), world.size)), 512)
    trained = world.wrap(model)  # gradients averaged over the processes in backward()
    try:
        if world.rank == 0:
            os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise TrainError(f"--out {args.out}: cannot create the folder: "
                         f"{exc.strerror or exc}") from None
    processes = (f", {world.size} process{'es' * (world.size > 1)} with batches of "
                 f"{args.batch_size} each"
                 if args.distributed else "")
    print(f"{args.model} on {args.dataset}: {len(train_set)} train / {len(test_set)} test "
          f"samples of shape {sample_shape}, {sum(p.numel() for p in model.parameters()):,} "
          f"parameters, device {device}{processes}")

    diverged = dict(status=1, everywhere=args.distributed)  # all processes see the same sums
    for epoch in range(start_epoch, args.epochs + 1):
        run.phase, run.epoch, run.step, run.steps = "training", epoch, 0, len(train_loader)
        if sampler is not None:
            sampler.set_epoch(epoch)
        running, seen, seconds = _train_epoch(trained, optimizer, loss_fn, train_loader, device,
                                              epoch, args, run, world)
        run.phase = "evaluating"
        world.sync_buffers(model)
        bad = nonfinite_entry(model)
        if bad is not None:
            raise TrainError(f"the run diverged: after epoch {epoch} the model's {bad} holds "
                             "NaN or infinite values (try a smaller --lr)", **diverged)
        test_loss, probs, targets = evaluate(model, epoch_test_loader, device, loss_fn)
        acc = float((probs.argmax(1) == targets).mean())
        if world.size > 1:  # the sums and counts of all the slices
            total, correct, count = world.reduce(tg.tensor(
                [test_loss * len(targets), (probs.argmax(1) == targets).sum(), len(targets)],
                dtype=tg.float64, device=device))
            test_loss, acc = total / count, correct / count
        if not math.isfinite(test_loss):
            raise TrainError(f"the run diverged: the test loss is {test_loss} after epoch "
                             f"{epoch} (try a smaller --lr)", **diverged)
        history.append({"epoch": epoch, "train_loss": running / max(seen, 1),
                        "test_loss": test_loss, "test_accuracy": acc, "seconds": seconds})
        print(f"epoch {epoch}: train loss {running / max(seen, 1):.4f}, test loss "
              f"{test_loss:.4f}, test accuracy {100 * acc:.2f}%, {seconds:.2f} s "
              f"({seen / seconds:,.0f} samples/s)", flush=True)
        schedule.step()
        run.phase = "saving"
        try:  # tg.save is atomic: a failed or interrupted save leaves the last good checkpoint
            if world.rank == 0:  # the network's own state_dict, without DDP's "module."
                tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "epoch": epoch, "config": config, "history": history}, run.ckpt)
        except OSError as exc:
            raise TrainError(f"cannot write {run.ckpt}: {exc.strerror or exc}", status=1) from None
        run.saved_epoch = epoch

    run.phase = "reports"
    if world.rank == 0:
        val_loader = None if val_set is None else DataLoader(val_set, batch_size=512)
        write_reports(args.out, model, test_loader, device, loss_fn, history, classes, test_set,
                      val_loader)
    return {"history": history, "out": args.out}


def _train_epoch(model: nn.Module, optimizer: Any, loss_fn: Any, loader: DataLoader,
                 device: str, epoch: int, args: argparse.Namespace, run: _Run,
                 world: _World | None = None) -> tuple[float, int, float]:
    """One pass over the training data: (summed loss, samples seen, seconds), over all the
    processes of `world`. Stops with a TrainError naming the step where the loss first became
    NaN or infinite."""
    world = world or _World()
    bar = _progress(loader, epoch, args.epochs, args.quiet or world.rank != 0, world.size)
    started = time.perf_counter()
    # Summed on the device: reading the loss back every step would stall a GPU. Once a loss
    # is not finite the sum never is again, so counting the steps with a finite sum tells
    # which step went wrong, read only every PROGRESS_EVERY steps.
    loss_sum, seen, total = tg.zeros((), device=device), 0, 0.0
    finite_steps = tg.zeros((), dtype=tg.int64, device=device)
    try:
        for step, (x, y) in enumerate(loader, 1):
            run.step = step
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            with tg.no_grad():
                loss_sum += loss * len(y)
                finite_steps += loss_sum.isfinite()
            seen += len(y) * world.size  # every process's share has the same size
            if bar is not None:
                bar.update(len(y) * world.size)
            if step % PROGRESS_EVERY == 0 or step == len(loader):
                total = world.reduce(loss_sum)  # (all processes take these steps together)
                if not math.isfinite(total):
                    bad = int(world.reduce(finite_steps, "MIN")) + 1
                    raise TrainError(f"the run diverged: the training loss became "
                                     f"{'NaN' if math.isnan(total) else 'infinite'} at epoch "
                                     f"{epoch}, step {bad} of {len(loader)} (try a smaller "
                                     "--lr)", status=1, everywhere=world.dist is not None)
                if bar is not None:
                    bar.set_postfix(loss=f"{total / seen:.4f}",
                                    rate=f"{seen / (time.perf_counter() - started):,.0f}/s")
    finally:
        if bar is not None:
            bar.close()
    return total, seen, time.perf_counter() - started  # total: read after the last step


def resume(path: str, model: nn.Module, optimizer: Any, config: dict, device: str
           ) -> tuple[int, list]:
    """Load a checkpoint of this command into `model` and `optimizer`, after checking that it
    is one, for the same data, network and optimizer; returns (next epoch, history)."""
    if not os.path.exists(path):
        raise TrainError(f"--resume: no checkpoint at {path}")
    if os.path.isdir(path):
        raise TrainError(f"--resume: {path} is a folder; name the checkpoint file in it "
                         f"(such as {os.path.join(path, 'model.ckpt')})")
    try:
        ckpt = tg.load(path, map_location=device)
    except (ValueError, RuntimeError, OSError) as exc:
        raise TrainError(f"--resume: cannot read {path}: {exc}") from None
    problem = _not_a_training_checkpoint(ckpt)
    if problem:
        raise TrainError(f"--resume: {path} is not a checkpoint of this training command "
                         f"({problem})")
    saved = ckpt["config"]
    for key in ("dataset", "model"):
        if saved.get(key) != config[key]:
            raise TrainError(f"--resume: {path} holds a {saved.get('model')} trained on "
                             f"{saved.get('dataset')}, not a {config['model']} on "
                             f"{config['dataset']}")
    for key, what in (("sample_shape", "samples of shape"), ("classes", "classes")):
        if key in saved and list(saved[key]) != list(config[key]):
            raise TrainError(f"--resume: {path} was trained on {what} {saved[key]}, but this "
                             f"run's data has {what} {config[key]}")
    trained_with = saved.get("optimizer") or _optimizer_of(ckpt["optimizer"])
    if trained_with != config["optimizer"]:
        kind = next((k for k in OPTIMIZERS if _probe(k)[0] == trained_with), None)
        how = f"resume it with --optimizer {kind}" if kind else "start afresh"
        raise TrainError(f"--resume: {path} was trained with {trained_with or 'another optimizer'}"
                         f", not {config['optimizer']}; {how}")
    mismatch = _weights_mismatch(model.state_dict(), ckpt["model"])
    if mismatch:
        raise TrainError(f"--resume: {path} does not fit this {config['model']}: {mismatch}")
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise TrainError(f"--resume: {path} does not fit this model: {exc}") from None
    try:
        optimizer.load_state_dict(ckpt["optimizer"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise TrainError(f"--resume: the optimizer state in {path} does not fit: {exc}") from None
    bad = nonfinite_entry(model)
    if bad is not None:
        raise TrainError(f"--resume: {path} holds NaN or infinite values in {bad} (a run that "
                         "diverged); resume from an earlier checkpoint or start afresh")
    print(f"resumed from {path} after epoch {ckpt['epoch']}")
    return ckpt["epoch"] + 1, list(ckpt.get("history", []))


def _not_a_training_checkpoint(ckpt: Any) -> str | None:
    """Why `ckpt` (what tg.load returned) is not what this command saves, or None."""
    if not isinstance(ckpt, dict):
        return f"it holds a {type(ckpt).__name__}, not a dict"
    missing = [k for k in ("model", "optimizer", "epoch", "config") if k not in ckpt]
    if missing:
        return (f"it has no {', '.join(missing)}; its keys are "
                f"{', '.join(map(str, ckpt)) or 'none'}")
    epoch = ckpt["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        return f"its epoch is {epoch!r}, not a positive integer"
    if not isinstance(ckpt["model"], dict) or not all(
            isinstance(v, tg.Tensor) for v in ckpt["model"].values()):
        return "its model is not a state_dict of tensors"
    if not isinstance(ckpt["optimizer"], dict):
        return "its optimizer is not an optimizer's state_dict"
    if not isinstance(ckpt["config"], dict):
        return "its config is not a dict"
    if not isinstance(ckpt.get("history", []), list):
        return "its history is not a list"
    return None


def _probe(kind: str) -> tuple[str, set]:
    """The class name and the options (param_group keys) of the optimizer `kind` builds."""
    made = build_optimizer(kind, [nn.Parameter(tg.zeros(1))], 0.1)
    return type(made).__name__, set(made.param_groups[0]) - {"params"}


def _optimizer_of(state: dict) -> str | None:
    """The optimizer that made `state` (checkpoints from before the config named it),
    recognised by its options; None when none of this command's optimizers has them."""
    groups = state.get("param_groups")
    if not isinstance(groups, (list, tuple)) or not groups or not isinstance(groups[0], dict):
        return None
    options = set(groups[0]) - {"params", "initial_lr"}  # initial_lr: the lr schedule's
    return next((name for name, keys in map(_probe, OPTIMIZERS) if keys == options), None)


def _weights_mismatch(expected: dict, saved: dict) -> str | None:
    """A one-line summary of how the `saved` state_dict differs from `expected` in names and
    shapes, or None when it fits."""
    def names(keys: list[str]) -> str:
        return keys[0] + (f" and {len(keys) - 1} more" if len(keys) > 1 else "")

    missing = [k for k in expected if k not in saved]
    unexpected = [k for k in saved if k not in expected]
    shapes = [k for k in expected
              if k in saved and tuple(saved[k].shape) != tuple(expected[k].shape)]
    parts = []
    if missing:
        parts.append(f"it lacks {names(missing)}")
    if unexpected:
        parts.append(f"it has {names(unexpected)}, which this network does not")
    if shapes:
        k = shapes[0]
        parts.append(f"{k} is {tuple(saved[k].shape)} there but {tuple(expected[k].shape)} "
                     f"here" + (f" (and {len(shapes) - 1} more shapes differ)"
                                if len(shapes) > 1 else ""))
    return "; ".join(parts) or None


@contextlib.contextmanager
def _writing(path: str) -> Iterator[str]:
    """Yield a temporary name next to `path` (same extension) to write to; it replaces `path`
    only once complete, so a full disk or Ctrl-C never leaves a half-written file. An OSError
    becomes a one-line TrainError naming `path`."""
    directory, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    tmp = os.path.join(directory, f".{stem}.{os.getpid()}.tmp{ext}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise TrainError(f"cannot write {path}: {exc.strerror or exc}", status=1) from None
        raise


def _write_file(path: str, write: Callable[[str], Any]) -> None:
    with _writing(path) as tmp:
        write(tmp)


def write_reports(out: str, model: nn.Module, loader: DataLoader, device: str, loss_fn: Any,
                  history: list, classes: Sequence[str], test_set: Any,
                  val_loader: DataLoader | None = None) -> None:
    from tinygrad_edu import plots

    summary: dict[str, Any] = {"epochs": history}
    if history:
        _, probs, targets = evaluate(model, loader, device, loss_fn)
        pred = probs.argmax(1)
        if len(classes) == 2:  # a binary classifier: the threshold matters, choose it on val
            threshold = 0.5
            if val_loader is not None:
                _, val_probs, val_targets = evaluate(model, val_loader, device, loss_fn)
                threshold = youden_threshold(val_targets, val_probs[:, 1])
            report = binary_report(targets, probs[:, 1], threshold)
            report["threshold_chosen_on"] = "val" if val_loader is not None else "default"
            summary["test"] = report
            pred = (probs[:, 1] >= threshold).astype(np.int64)

    def metrics(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(summary, f, indent=2)

    _write_file(os.path.join(out, "metrics.json"), metrics)
    if not history:
        return
    _write_file(os.path.join(out, "curves.png"), lambda tmp: plots.plot_curves(history, tmp))
    matrix = confusion_matrix(pred, targets, len(classes))
    plot = plots.plot_binary_confusion if len(classes) == 2 else plots.plot_confusion
    _write_file(os.path.join(out, "confusion.png"), lambda tmp: plot(matrix, classes, tmp))
    wrong = np.flatnonzero(pred != targets)
    images = None
    if len(test_set[0][0].shape) == 3 and len(wrong):
        images = np.stack([tg.backend.to_numpy(test_set[int(k)][0].array) for k in wrong])
    _write_file(os.path.join(out, "misclassified.png"),
                lambda tmp: plots.plot_misclassified(images, targets[wrong], pred[wrong],
                                                     probs[wrong, pred[wrong]], classes, tmp))
    written = "metrics.json, curves.png, confusion.png, misclassified.png"
    if "test" in summary:
        report = summary["test"]
        if len(np.unique(targets)) == 2:
            fpr, tpr, _ = roc_curve(targets, probs[:, 1])
            point = (1 - report["specificity"], report["sensitivity"])
            _write_file(os.path.join(out, "roc.png"),
                        lambda tmp: plots.plot_roc(fpr, tpr, report["roc_auc"], point, tmp))
            written += ", roc.png"
        print(f"test at threshold {report['threshold']:.3f} (chosen on "
              f"{report['threshold_chosen_on']}): accuracy {report['accuracy']:.4f}, ROC AUC "
              f"{report['roc_auc']:.4f}, sensitivity {report['sensitivity']:.4f}, specificity "
              f"{report['specificity']:.4f}, precision {report['precision']:.4f}, F1 "
              f"{report['f1']:.4f}")
    print(f"wrote {out}/{written}, model.ckpt")


class _Parser(argparse.ArgumentParser):
    """argparse's errors in one line ("PROG: error: ..."), without the long usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def _learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"the learning rate must be a positive finite number, "
                                         f"got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"the seed must be between 0 and {MAX_SEED}, "
                                         f"got {value}")
    return value


def _device(text: str) -> str:
    try:
        tg.backend.Device(text)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = _Parser(prog=PROG, description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits", choices=DATASETS)
    p.add_argument("--model", default=None, choices=MODELS,
                   help="default cnn for the MedMNIST sets, mlp for the others")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=_learning_rate, default=None,
                   help="learning rate (default 0.05 for sgd, 0.001 for adam; with --resume, "
                        "the checkpoint's unless given)")
    p.add_argument("--schedule", default="cosine", choices=SCHEDULES,
                   help="learning rate per epoch: cosine decay to 0 over --epochs, or constant")
    p.add_argument("--optimizer", default=None, choices=OPTIMIZERS,
                   help="default adam for the MedMNIST sets, sgd for the others; with "
                        "--resume, the one the checkpoint was made with")
    p.add_argument("--device", type=_device, default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=_seed, default=0, help=f"0 to {MAX_SEED}")
    p.add_argument("--out", default=None, help="output folder (default runs/DATASET-MODEL)")
    p.add_argument("--resume", default=None, metavar="CKPT", help="continue from a checkpoint")
    p.add_argument("--data-root", default=None, help="where to look for downloaded datasets")
    p.add_argument("--quick", action="store_true", help="a small subset, for smoke tests")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--distributed", action="store_true",
                   help="data-parallel on the processes of an MPI launcher (mpirun -n 2 ...); "
                        "--batch-size is per process; only rank 0 prints and writes files")
    args = p.parse_args(argv)
    medical = args.dataset in MEDMNIST  # small CNNs on imbalanced images: Adam trains them
    args.model = args.model or ("cnn" if medical else "mlp")
    args.optimizer = args.optimizer or ("adam" if medical else "sgd")
    args.lr_given = args.lr is not None
    if args.lr is None:
        args.lr = 0.05 if args.optimizer == "sgd" else 0.001
    args.out = args.out or os.path.join("runs", f"{args.dataset}-{args.model}")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        p.error(f"argument --out: {args.out} exists and is not a folder")
    return args


def _say(kind: str | None, message: object, rank: int = 0) -> None:
    """One line on stderr: "PROG: KIND: MESSAGE" (newlines and runs of spaces collapsed);
    "PROG (rank R): ..." from the other processes of a distributed run."""
    prog = f"{PROG} (rank {rank})" if rank else PROG
    prefix = f"{prog}: {kind}: " if kind else f"{prog}: "
    print(prefix + " ".join(str(message).split()), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    world = _World()
    try:
        if args.distributed:
            world = _World.start(args.device)
        train(args, world)
    except TrainError as exc:  # 130: "interrupted ..." already says what happened
        return world.fail(exc.status, exc, None if exc.status == 130 else "error",
                          exc.everywhere)
    except (FileNotFoundError, ImportError) as exc:
        return world.fail(2, exc)
    except RuntimeError as exc:
        if "device" in str(exc) or "cuda" in str(exc):
            return world.fail(2, exc)
        world.crash()
        raise
    except OSError as exc:
        return world.fail(1, exc)
    except BaseException:
        world.crash()
        raise
    world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
