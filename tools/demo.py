"""The main job in one command: Fashion-MNIST -> AlexNet -> Triton -> served predictions.

Converts Debian's Fashion-MNIST to the ImageNet layout, computes its statistics, trains
the paper's full two-tower network at 227x227 for a bounded number of steps, evaluates
it on held-out test images (centre crop and 10 crops), exports it to a Triton model
repository, starts the real Triton server on free 127.0.0.1 ports, classifies the
held-out images through the gRPC client, prints top-5 predictions for a few of them and
the served accuracy, and stops the server. Everything goes under --work-dir; running
the command again reuses what is done (training resumes where it stopped).

Examples:
    python tools/demo.py                                   # about 10 minutes on 2 cores
    python tools/demo.py --work-dir /tmp/demo --test-images 500
    python tools/demo.py --idx-dir ~/Downloads/fashion-mnist
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from typing import Sequence

from alexnet_tf.demo import FLOAT32_EPOCHS, MIXED_PRECISION_EPOCHS, DemoConfig
from alexnet_tf.training import TrainingInterrupted
from alexnet_tf.training.config import DTYPES

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(DemoConfig)}
_STAGES = 6


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; every default is `DemoConfig`'s."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )

    def add(flag: str, help: str, shown_default: str | None = None, **kwargs) -> None:
        name = flag[2:].replace("-", "_")
        shown = _DEFAULTS[name] if shown_default is None else shown_default
        parser.add_argument(flag, default=_DEFAULTS[name], help=f"{help} (default: {shown})", **kwargs)

    add("--work-dir", "folder of everything the demo writes")
    add("--idx-dir", "folder of Fashion-MNIST's four IDX files")
    add("--train-images", "training images to convert", type=int)
    add("--test-images", "held-out test images to convert, evaluate and serve", type=int)
    add("--stats-images", "training images sampled for the mean and principal components", type=int)
    add("--epochs", "training epochs", f"{MIXED_PRECISION_EPOCHS} in mixed precision, {FLOAT32_EPOCHS} in float32",
        type=int)
    add("--steps-per-epoch", "training steps per epoch", type=int)
    add("--batch-size", "training batch size", type=int)
    add("--learning-rate", "peak learning rate of the cosine schedule", type=float)
    add("--warmup-epochs", "linear warm-up epochs", type=int)
    add("--dropout", "dropout rate after fc6 and fc7", type=float)
    add("--width-multiplier", "scale of every layer but fc8 (below 1: quick trials only)", type=float)
    add("--dtype", "compute dtype; auto: bfloat16 mixed precision where the hardware has bfloat16 units",
        choices=("auto", *DTYPES))
    add("--image-size", "side of the rescaled central square", type=int)
    add("--crop-size", "side of the crops, the model's input", type=int)
    add("--seed", "seed of initialization, input order and augmentation", type=int)
    add("--show", "held-out images whose top-5 predictions are printed", type=int)
    add("--serving-batch-size", "images per request to the server", type=int)
    add("--concurrency", "requests in flight", type=int)
    add("--server-timeout", "seconds to wait for the server and its model", type=float)
    return parser


def _header(number: int, title: str) -> float:
    print(f"\n=== [{number}/{_STAGES}] {title} ===", flush=True)
    return time.monotonic()


def _done(started: float, reused: bool = False) -> None:
    note = "reused from an earlier run" if reused else "done"
    print(f"    {note} in {time.monotonic() - started:.1f} s", flush=True)


def run(config: DemoConfig) -> float:
    """Runs the stages with headers and results on stdout; returns the served accuracy.

    Args:
        config: DemoConfig. The demo's settings.
    """
    from alexnet_tf import demo

    started = _header(1, f"Fashion-MNIST -> ImageNet layout in {config.data_dir}")
    data_dir, converted = demo.prepare_data(config)
    _done(started, reused=not converted)

    started = _header(2, "Training-set mean and RGB principal components")
    stats_path, computed = demo.prepare_stats(config)
    print(f"    {stats_path}")
    _done(started, reused=not computed)

    started = _header(
        3,
        f"Training the paper's two-tower AlexNet ({config.crop_size}x{config.crop_size}, width "
        f"x{config.width_multiplier}, {config.dtype}): {config.epochs} epochs x "
        f"{config.steps_per_epoch} steps x {config.batch_size} images, cosine lr from "
        f"{config.learning_rate}, into {config.model_dir}",
    )
    history = demo.train_model(config)
    if history:
        last = history[-1]
        print(f"    last epoch: loss {last['loss']:.4f}, training top-1 error {last['top1_error']:.4f}")
    _done(started, reused=not history)

    started = _header(4, f"Evaluating on the {config.test_images} held-out test images")
    results, evaluated = demo.evaluate_model(config)
    for crop, result in results.items():
        print(
            f"    {crop:<7} top-1 accuracy {1 - result['top1_error']:.4f}  "
            f"top-5 accuracy {1 - result['top5_error']:.4f}  ({result['examples']} images)"
        )
    _done(started, reused=not evaluated)

    started = _header(5, f"Exporting to the Triton repository {config.repository}")
    version_dir, exported = demo.export_model(config)
    print(f"    {version_dir}")
    _done(started, reused=not exported)

    started = _header(6, "Serving with Triton on 127.0.0.1 and classifying the held-out images")
    served, summary = demo.serve_and_classify(config)
    print(f"    server {summary['grpc_url']} (gRPC), model {summary['model']} versions {summary['versions']}; stopped")
    for image in served[: config.show]:
        print(f"    {image.path}  (true: {image.true_label})")
        if image.error:
            print(f"        error: {image.error}")
        for rank, (label, probability) in enumerate(image.top, start=1):
            print(f"        {rank}. {label:<12} {probability:.4f}")
    _done(started)
    print(
        f"\nServed accuracy on {summary['images']} held-out test images: {summary['accuracy']:.4f}"
        f" ({summary['errors']} errors). Everything is in {config.work_dir}."
    )
    return summary["accuracy"]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # TensorFlow's and Triton's own lines would bury the demo's. Triton logs CUDA errors on
    # a machine without GPUs; a server that fails to start raises with its last log lines.
    for noisy in ("absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("serving.tritonserver").setLevel(logging.CRITICAL)
    try:
        config = DemoConfig(**vars(args))
        run(config)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, TrainingInterrupted):
        print("Interrupted; run the same command again to continue.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
