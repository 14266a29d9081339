"""Converts Fashion-MNIST's IDX files into an ImageNet-layout data set of RGB JPEGs.

Examples:
    python tools/fashion_mnist.py --out data/fashion_mnist
    python tools/fashion_mnist.py --out /tmp/fm_small --train-limit 2000 --val-limit 500
    python tools/fashion_mnist.py --out data/fm --idx-dir ~/Downloads/fashion-mnist
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from alexnet_tf.data import fashion_mnist


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="Output data directory (gets train/, val/, labels.txt).")
    parser.add_argument(
        "--idx-dir", default=str(fashion_mnist.DEBIAN_DIR),
        help="Folder of the four IDX files (default: where Debian's dataset-fashion-mnist puts them).",
    )
    parser.add_argument("--train-limit", type=int, help="Write at most this many training images.")
    parser.add_argument("--val-limit", type=int, help="Write at most this many test images (as val/).")
    parser.add_argument("--quality", type=int, default=95, help="JPEG quality (default: 95).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        counts = fashion_mnist.export(
            args.out, args.idx_dir, limits={"train": args.train_limit, "val": args.val_limit},
            quality=args.quality, progress=True,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for split, count in counts.items():
        print(f"{split}: {count} images in {args.out}/{split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
