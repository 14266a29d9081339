"""Computes a data set's pixel mean and RGB principal components and stores them beside it.

Writes DATA_DIR/dataset_stats.json (or OUT/dataset_stats.json), where training and
export find it. Works on ImageNet-layout folders and on TFRecord shards.

Examples:
    python tools/dataset_stats.py --data-dir data/fashion_mnist
    python tools/dataset_stats.py --data-dir /data/imagenet --max-images 50000
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Sequence

from alexnet_tf.data.pixel_statistics import compute_stats
from alexnet_tf.data.sources import resolve_source
from alexnet_tf.data.stats import save_stats


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="The data set's root folder.")
    parser.add_argument("--split", default="train", help="Split to compute the statistics of (default: train).")
    parser.add_argument("--max-images", type=int, help="Use a fixed random sample of this many images.")
    parser.add_argument("--image-size", type=int, default=256, help="Central square side (default: 256).")
    parser.add_argument("--out", help="Folder to write dataset_stats.json into (default: --data-dir).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        source = resolve_source(args.data_dir, args.split)
        stats = compute_stats(
            source, image_size=args.image_size, max_images=args.max_images, progress=True
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    path = save_stats(stats, args.out or args.data_dir)
    print(json.dumps(stats.to_dict(), indent=2))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
