"""Exports a trained model directory into a Triton model repository as a new version.

    python tools/export.py --model-dir runs/alexnet --repository model_repository
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from alexnet_tf.export import ServingConfig, export_model_dir
from alexnet_tf.export.repository import CROPS, INSTANCE_KINDS, VERSION_POLICIES


def build_parser() -> argparse.ArgumentParser:
    defaults = ServingConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True,
                        help="training output: model.keras, labels.txt, dataset_stats.json, config.json")
    parser.add_argument("--repository", type=Path, required=True, help="Triton model repository")
    parser.add_argument("--model-name", default="alexnet", help="name in the repository")
    parser.add_argument("--crop", choices=CROPS, default=defaults.crop,
                        help="test-time views of encoded images (default: %(default)s)")
    parser.add_argument("--max-batch-size", type=int, default=defaults.max_batch_size)
    parser.add_argument("--instance-count", type=int, default=defaults.instance_count)
    parser.add_argument("--instance-kind", choices=sorted(INSTANCE_KINDS), default=defaults.instance_kind)
    parser.add_argument("--max-queue-delay-us", type=int,
                        default=defaults.max_queue_delay_microseconds,
                        help="dynamic batcher's wait for more requests (default: %(default)s)")
    parser.add_argument("--versions", choices=sorted(VERSION_POLICIES), default=defaults.version_policy,
                        help="serve the latest version only, or all (default: %(default)s)")
    parser.add_argument("--threads-per-instance", type=int, default=defaults.threads_per_instance,
                        help="TensorFlow threads per instance; 0: all cores (default)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    serving = ServingConfig(
        max_batch_size=args.max_batch_size,
        instance_count=args.instance_count,
        instance_kind=args.instance_kind,
        crop=args.crop,
        max_queue_delay_microseconds=args.max_queue_delay_us,
        version_policy=args.versions,
        threads_per_instance=args.threads_per_instance,
    )
    version = export_model_dir(
        args.model_dir, args.repository, model_name=args.model_name, serving=serving
    )
    print(version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
