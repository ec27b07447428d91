"""Shared parts of the examples: the command-line options (--device, --quick, --out, --seed;
the text examples' data options), the text examples' data and their loss plot."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))  # run from a checkout

import tinygrad_edu as tg  # noqa: E402


def parse_args(description: str, **extra: dict) -> argparse.Namespace:
    """--device cpu|cuda, --quick (tiny settings for CI), --out DIR, plus `extra` options
    given as name=dict(type=..., default=..., help=...)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    parser.add_argument("--out", default=os.path.join("runs", "examples"),
                        help="where pictures are written")
    parser.add_argument("--seed", type=int, default=0)
    for name, options in extra.items():
        parser.add_argument("--" + name.replace("_", "-"), **options)
    args = parser.parse_args()
    if args.device.startswith("cuda") and not tg.cuda.is_available():
        parser.error(f"--device {args.device}: {tg.cuda.unavailable_reason()}")
    os.makedirs(args.out, exist_ok=True)
    tg.manual_seed(args.seed)
    return args


def plot_losses(history: list[dict], path: str, title: str) -> str:
    """Train and validation loss at each evaluation ({"iter", "train", "val"} per entry),
    written to `path` (a PNG); returns the path."""
    from tinygrad_edu.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [h["iter"] for h in history]
    ax.plot(steps, [h["train"] for h in history], "o-", label="train")
    ax.plot(steps, [h["val"] for h in history], "o-", label="validation")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    return path


# the text examples' options for where Tiny Shakespeare is (parse_args(..., **TEXT_DATA))
TEXT_DATA = dict(
    data=dict(default=None, help="folder holding input.txt (default: the environment "
                                 "variable TINYGRAD_EDU_SHAKESPEARE_ROOT)"),
    download=dict(action="store_true", help="fetch input.txt if it is missing"))


def load_text(args: argparse.Namespace, rng: Any, quick_lines: int) -> tuple[str, Any, Any]:
    """(text, its CharTokenizer, the text as an int64 NumPy array of ids): Tiny Shakespeare
    from --data (or $TINYGRAD_EDU_SHAKESPEARE_ROOT, --download). With --quick its first 3,000
    characters where the file is there, else a made-up play of `quick_lines` short lines drawn
    with `rng`."""
    from tinygrad_edu.datasets import CharTokenizer, load_tiny_shakespeare

    folder = args.data or os.environ.get("TINYGRAD_EDU_SHAKESPEARE_ROOT")
    if not args.quick:
        text = load_tiny_shakespeare(args.data, args.download)
    elif folder and os.path.isfile(os.path.join(folder, "input.txt")):
        text = load_tiny_shakespeare(folder)[:3000]
    else:
        words = ["to", "be", "or", "not", "the", "king", "my", "lord", "love", "night", "sweet"]
        speakers = ["ROMEO:", "JULIET:", "KING:"]
        text = "\n".join(f"{rng.choice(speakers)}\n" + " ".join(rng.choice(words, 6)) + ".\n"
                         for _ in range(quick_lines))
    tok = CharTokenizer(text)
    return text, tok, tok.encode(text).numpy()
