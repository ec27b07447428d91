"""The seven steps of training, one at a time, on the course's fully-connected net
(input -> 16 tanh -> 10 classes):

  1 initialize   the model's weights, a loss function and an optimizer
  2 predict      a batch: logits = model(x)
  3 loss         how wrong the predictions are: loss = loss_fn(logits, y)
  4 gradients    d(loss)/d(weight) for every weight: loss.backward()
  5 step         move every weight a little against its gradient: optimizer.step()
  6 repeat       steps 2-5 for every batch of the training set (one epoch)
  7 epochs       repeat whole epochs until a stopping criterion holds

then accuracy and a confusion matrix on the test set.

    python examples/02_seven_steps.py [--dataset digits|cifar10|fashion-mnist] [--device cuda]
"""

import os

from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.metrics import confusion_matrix
from tinygrad_edu.train import load_data
from tinygrad_edu.utils.data import DataLoader


def test_accuracy(model: nn.Module, loader: DataLoader, device: str) -> tuple:
    model.eval()
    preds, targets = [], []
    with tg.no_grad():
        for x, y in loader:
            preds.append(model(x.to(device)).argmax(dim=1).cpu())
            targets.append(y)
    model.train()
    pred, target = tg.cat(preds), tg.cat(targets)
    return (pred == target).float().mean().item(), pred, target


def main() -> None:
    args = parse_args(__doc__,
                      dataset=dict(default="digits", help="digits (no download), cifar10, ..."),
                      epochs=dict(type=int, default=30, help="at most this many epochs"),
                      lr=dict(type=float, default=0.1),
                      batch_size=dict(type=int, default=16),
                      patience=dict(type=int, default=3, help="epochs without improvement"))
    device = args.device
    train_set, test_set = load_data(args.dataset, None)
    if args.quick:
        train_set, test_set = tg.utils.data.Subset(train_set, range(320)), test_set
        args.epochs = 2
    classes = test_set.classes
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    n_inputs = train_set[0][0].numel()

    print("Step 1: initialize the model, the loss and the optimizer")
    model = nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, 16), nn.Tanh(), nn.Linear(16, 10))
    model.to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = tg.optim.SGD(model.parameters(), lr=args.lr)
    print(model)
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters\n")

    print("Step 2: predict a batch")
    x, y = next(iter(train_loader))
    x, y = x.to(device), y.to(device)
    logits = model(x)
    print(f"inputs {tuple(x.shape)} -> logits {tuple(logits.shape)}; first prediction "
          f"{logits[0].argmax().item()}, true label {y[0].item()}\n")

    print("Step 3: the loss of this batch")
    loss = loss_fn(logits, y)
    print(f"cross-entropy = {loss.item():.4f} (a random guess over 10 classes gives "
          f"ln 10 = 2.30)\n")

    print("Step 4: gradients")
    optimizer.zero_grad()
    loss.backward()
    first = model[1].weight
    print(f"d(loss)/d(first layer weight) has shape {tuple(first.grad.shape)}, "
          f"norm {first.grad.norm().item():.4f}\n")

    print("Step 5: one optimizer step, then the loss of the same batch again")
    optimizer.step()
    with tg.no_grad():
        after = loss_fn(model(x), y).item()
    print(f"loss before {loss.item():.4f} -> after {after:.4f}\n")

    print("Steps 6 and 7: repeat over every batch, for epochs until the test accuracy stops "
          f"improving for {args.patience} epochs (at most {args.epochs})")
    best, waited = 0.0, 0
    for epoch in range(1, args.epochs + 1):
        total, count = 0.0, 0
        for x, y in train_loader:                      # step 6: repeat over the batches
            x, y = x.to(device), y.to(device)
            logits = model(x)                          # step 2
            loss = loss_fn(logits, y)                  # step 3
            optimizer.zero_grad()
            loss.backward()                            # step 4
            optimizer.step()                           # step 5
            total, count = total + loss.item() * len(y), count + len(y)
        acc, _, _ = test_accuracy(model, test_loader, device)
        print(f"epoch {epoch:>2}: train loss {total / count:.4f}, test accuracy {100 * acc:.2f}%")
        if acc > best:
            best, waited = acc, 0
        else:
            waited += 1
            if waited >= args.patience:                # step 7: the stopping criterion
                print(f"no improvement for {args.patience} epochs: stop")
                break

    acc, pred, target = test_accuracy(model, test_loader, device)
    matrix = confusion_matrix(pred, target, len(classes))
    print(f"\nTest accuracy: {100 * acc:.2f}%\nConfusion matrix (rows: true, columns: predicted):")
    print("      " + " ".join(f"{c[:4]:>4}" for c in classes))
    for name, row in zip(classes, matrix):
        print(f"{name[:5]:>5} " + " ".join(f"{v:>4}" for v in row))
    try:
        from tinygrad_edu.plots import plot_confusion
        path = os.path.join(args.out, "seven_steps_confusion.png")
        plot_confusion(matrix, classes, path)
        print(f"wrote {path}")
    except ImportError as exc:
        print(f"(no picture: {exc})")


if __name__ == "__main__":
    main()
