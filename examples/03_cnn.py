"""The course's CNN: conv 5x5 -> ReLU -> max-pool 2 -> conv 5x5 -> ReLU -> max-pool 2 ->
three linear layers, with the sizes worked out from the input, and its parameter count.

    python examples/03_cnn.py [--dataset digits|fashion-mnist|cifar10] [--device cuda]
"""

from _common import parse_args

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.train import load_data
from tinygrad_edu.utils.data import DataLoader


class Net(nn.Module):
    """LeNet-style: two conv/pool stages that keep the image size with padding=2 and halve it
    with each pool, then 120 -> 84 -> classes."""

    def __init__(self, channels: int, size: int, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 6, kernel_size=5, padding=2)   # C x S x S -> 6 x S x S
        self.pool = nn.MaxPool2d(2)                                     # -> 6 x S/2 x S/2
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5, padding=2)         # -> 16 x S/2 x S/2
        flat = 16 * (size // 4) * (size // 4)                           # after the second pool
        self.fc1 = nn.Linear(flat, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        x = self.pool(self.conv1(x).relu())
        x = self.pool(self.conv2(x).relu())
        x = x.flatten(1)
        x = self.fc1(x).relu()
        x = self.fc2(x).relu()
        return self.fc3(x)


def main() -> None:
    args = parse_args(__doc__, dataset=dict(default="digits"),
                      epochs=dict(type=int, default=25), lr=dict(type=float, default=0.03),
                      batch_size=dict(type=int, default=32))
    train_set, test_set = load_data(args.dataset, None)
    if args.quick:
        train_set, args.epochs = tg.utils.data.Subset(train_set, range(256)), 1
    channels, size, _ = train_set[0][0].shape
    model = Net(channels, size, len(test_set.classes)).to(args.device)
    print(model)
    total = sum(p.numel() for p in model.parameters())
    print("\nParameters per layer:")
    for name, p in model.named_parameters():
        print(f"  {name:<12} {str(tuple(p.shape)):<18} {p.numel():>8,}")
    print(f"  {'total':<31}{total:>8,}\n")

    loss_fn = nn.CrossEntropyLoss()
    optimizer = tg.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss, count = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(args.device), y.to(args.device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss, count = total_loss + loss.item() * len(y), count + len(y)
        model.eval()
        correct = 0
        with tg.no_grad():
            for x, y in test_loader:
                correct += (model(x.to(args.device)).argmax(1).cpu() == y).sum().item()
        print(f"epoch {epoch:>2}: train loss {total_loss / count:.4f}, test accuracy "
              f"{100 * correct / len(test_set):.2f}%")


if __name__ == "__main__":
    main()
