"""Shared command-line options of the examples: --device, --quick, --out."""

from __future__ import annotations

import argparse
import os
import sys

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
