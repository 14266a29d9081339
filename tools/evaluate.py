"""Evaluate a trained model: top-1/top-5 error with a centre crop and the paper's 10 crops.

Usage:
    python tools/evaluate.py --model-dir runs/alexnet --data-dir DATA [--split val]
    python tools/evaluate.py --model-dir runs/alexnet --images FOLDER [--crops ten]

`--images` takes any ImageNet-layout folder (one subfolder per class, named like the
training classes in MODEL_DIR/classes.txt). Results are printed and, with `--output`,
written as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from alexnet_tf.data import resolve_source
from alexnet_tf.data.sources import class_names, folder_source
from alexnet_tf.training.evaluation import evaluate_model_dir, model_dir_classes
from alexnet_tf.training.strategy import configure_virtual_devices, make_distribution


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="a training run's output folder")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--data-dir", help="data set root holding the split to evaluate")
    where.add_argument("--images", help="an ImageNet-layout folder of class subfolders")
    parser.add_argument("--split", default="val", help="split of --data-dir (default: val)")
    parser.add_argument(
        "--crops", nargs="+", choices=("center", "ten"), default=["center", "ten"],
        help="views to evaluate (default: center ten)",
    )
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default: 128)")
    parser.add_argument("--steps", type=int, help="evaluate only this many batches")
    parser.add_argument(
        "--virtual-devices", type=int, default=0,
        help="split the CPU into N logical devices and evaluate mirrored over them",
    )
    parser.add_argument("--output", help="write the results to this JSON file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        configure_virtual_devices(args.virtual_devices)
        distribution = make_distribution("auto")
        classes = model_dir_classes(args.model_dir)
        if args.images:
            source = folder_source(args.images, classes)
        else:
            if class_names(args.data_dir) != classes:
                raise ValueError(
                    f"The classes of {args.data_dir} differ from those the model was trained "
                    f"on ({Path(args.model_dir) / 'classes.txt'}). Received: data_dir={args.data_dir!r}"
                )
            source = resolve_source(args.data_dir, args.split)
        results = evaluate_model_dir(
            args.model_dir, source, crops=args.crops, batch_size=args.batch_size,
            strategy=distribution.strategy, steps=args.steps,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{'crop':<8}{'images':>10}{'top-1 error':>14}{'top-5 error':>14}{'loss':>10}")
    for crop, result in results.items():
        print(
            f"{crop:<8}{result['examples']:>10}{result['top1_error']:>14.4f}"
            f"{result['top5_error']:>14.4f}{result['loss']:>10.4f}"
        )
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
