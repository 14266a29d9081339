"""Writes TFRecord shards from an ImageNet-layout data set, in parallel.

Every image is decoded once; undecodable files are skipped and listed. By default
images are stored pre-resized to the paper's 256x256 central square (JPEG), so
training decodes less; --keep-original stores the original bytes instead.

Examples:
    python tools/build_tfrecords.py --data-dir data/fashion_mnist --out data/fm_records
    python tools/build_tfrecords.py --data-dir /data/imagenet --out /data/imagenet_tfr \\
        --shards train=1024 --shards val=128 --ground-truth /data/imagenet/val_ground_truth.txt
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from alexnet_tf.data.tfrecord_writer import DEFAULT_QUALITY, convert_data_dir


def _shards(value: str) -> tuple[str | None, int]:
    split, _, count = value.rpartition("=")
    return split or None, int(count)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="ImageNet-layout root (DATA_DIR/train/<class>/...).")
    parser.add_argument("--out", required=True, help="Output folder for shards, classes.txt, labels.txt.")
    parser.add_argument("--splits", nargs="+", default=["train", "val"], help="Splits to convert (default: train val).")
    parser.add_argument(
        "--shards", type=_shards, action="append", default=[], metavar="[SPLIT=]N",
        help="Shards per split: N for every split or SPLIT=N, repeatable (default: 16).",
    )
    parser.add_argument("--image-size", type=int, default=256, help="Stored square side (default: 256).")
    parser.add_argument("--keep-original", action="store_true", help="Store the original bytes, not resized.")
    parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY, help="JPEG quality of resized images.")
    parser.add_argument("--workers", type=int, help="Parallel shard writers (default: number of cores).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the example shuffle (default: 0).")
    parser.add_argument("--ground-truth", help="Ground-truth file of a flat split (default: DATA_DIR/<split>_ground_truth.txt).")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    shards = dict.fromkeys(args.splits, 16)
    for split, count in args.shards:
        shards.update(dict.fromkeys([split] if split else args.splits, count))
    try:
        infos = convert_data_dir(
            args.data_dir, args.out, args.splits, shards=shards, ground_truth=args.ground_truth,
            image_size=None if args.keep_original else args.image_size, quality=args.quality,
            workers=args.workers, seed=args.seed, progress=True,
        )
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for split, info in infos.items():
        print(f"{split}: {info['num_examples']} examples in {info['num_shards']} shards, "
              f"{len(info['skipped'])} skipped")
        for path, reason in info["skipped"].items():
            print(f"  skipped {path}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
