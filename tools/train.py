"""Train AlexNet with the paper's recipe; re-run the same command to resume.

Usage:
    python tools/train.py --data-dir DATA --model-dir runs/alexnet [options]
    python tools/train.py --config runs/alexnet/config.json --model-dir runs/again

Settings not given on the command line come from `--config` (a `config.json` written by
an earlier run) or else from the paper's defaults (`alexnet_tf.training.TrainConfig`).
The first SIGINT or SIGTERM stops after the current step with a checkpoint and status 130
(multi-worker runs resume from the last periodic checkpoint, as after SIGKILL or a power
loss); a second one stops at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from alexnet_tf.training import TrainConfig, TrainingInterrupted, load_config, prepare_training
from alexnet_tf.training.config import DTYPES, EVAL_CROPS, LRN_CHOICES, SCHEDULES, STRATEGIES

_DEFAULTS = {field.name: field.default for field in dataclasses.fields(TrainConfig)}


def _optional_split(value: str) -> str | None:
    return None if value.lower() == "none" else value


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface; every setting defaults to 'not given' (SUPPRESS)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], argument_default=argparse.SUPPRESS
    )

    def add(group, flag: str, help: str, **kwargs) -> None:
        name = flag[2:].replace("-", "_")
        default = _DEFAULTS.get(name, dataclasses.MISSING)
        suffix = "" if default is dataclasses.MISSING or "default:" in help else f" (default: {default})"
        group.add_argument(flag, help=help + suffix, **kwargs)

    add(parser, "--config", "config.json of an earlier run to start from", dest="config_file")
    add(parser, "--data-dir", "data set root: ImageNet-layout split folders or TFRecord shards")
    add(parser, "--model-dir", "output folder; an existing run there is resumed")
    data = parser.add_argument_group("data")
    add(data, "--train-split", "training split name")
    add(data, "--validation-split", "validation split name, or 'none'", type=_optional_split)
    add(data, "--validation-crop", "per-epoch validation views", choices=EVAL_CROPS)
    add(data, "--image-size", "side of the rescaled central square", type=int)
    add(data, "--crop-size", "side of the crops (the model's input)", type=int)
    add(data, "--random-crop", "random training crops", action=argparse.BooleanOptionalAction)
    add(data, "--flip", "random horizontal reflections", action=argparse.BooleanOptionalAction)
    add(data, "--pca-lighting", "PCA lighting noise", action=argparse.BooleanOptionalAction)
    add(data, "--steps-per-epoch", "training steps per epoch (default: one pass over the split)", type=int)
    add(data, "--validation-steps", "validation batches per epoch (default: the whole split)", type=int)
    model = parser.add_argument_group("model")
    add(model, "--towers", "2: the paper's two towers; 1: one tower", type=int, choices=(1, 2))
    add(model, "--width-multiplier", "scale of every layer but fc8", type=float)
    add(model, "--lrn", "LRN constants", choices=LRN_CHOICES)
    add(model, "--dropout", "dropout rate after fc6 and fc7", type=float)
    recipe = parser.add_argument_group("recipe")
    add(recipe, "--epochs", "number of epochs", type=int)
    add(recipe, "--batch-size", "global batch size", type=int)
    add(recipe, "--learning-rate", "initial learning rate", type=float)
    add(recipe, "--momentum", "SGD momentum", type=float)
    add(recipe, "--weight-decay", "weight decay, coupled into the gradient as in the paper", type=float)
    add(recipe, "--schedule", "learning-rate schedule", choices=SCHEDULES)
    add(recipe, "--decay-factor", "learning-rate factor of each reduction", type=float)
    add(recipe, "--plateau-patience", "epochs without improvement before a reduction", type=int)
    add(recipe, "--plateau-min-delta", "top-1 error decrease that counts as improvement", type=float)
    add(recipe, "--max-reductions", "most reductions on plateaus", type=int)
    add(recipe, "--step-epochs", "epochs between reductions of the step schedule", type=int)
    add(recipe, "--warmup-epochs", "linear warm-up epochs of the cosine schedule", type=int)
    add(recipe, "--seed", "seed of initialization and input order (default: drawn and saved)", type=int)
    system = parser.add_argument_group("devices and checkpoints")
    add(system, "--strategy", "auto: mirrored over local devices; towers: the paper's two-device "
        "model parallelism; multiworker: TF_CONFIG cluster", choices=STRATEGIES)
    add(system, "--virtual-devices", "split the CPU into N logical devices", type=int)
    add(system, "--dtype", "compute dtype (mixed precision for bfloat16/float16)", choices=DTYPES)
    add(system, "--checkpoint-steps", "also checkpoint every N steps (0: after epochs only)", type=int)
    add(system, "--keep-checkpoints", "checkpoints kept on disk", type=int)
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1, help="1: progress bar (default: 1)")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The configuration: `--config` file values, overridden by the flags given."""
    given = {key: value for key, value in vars(args).items() if key not in ("config_file", "verbose")}
    base = load_config(args.config_file).to_dict() if "config_file" in args else {}
    values = {**base, **given}
    missing = [flag for flag in ("data_dir", "model_dir") if flag not in values]
    if missing:
        raise ValueError(
            f"Give {', '.join('--' + name.replace('_', '-') for name in missing)} (or a --config "
            f"that holds them). Received: {', '.join(f'{name}=None' for name in missing)}"
        )
    return TrainConfig.from_dict(values)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        run = prepare_training(config_from_args(args))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        run.fit(verbose=args.verbose)
    except TrainingInterrupted as interrupted:
        logging.getLogger("train").warning("Interrupted: %s; re-run the same command to resume.", interrupted)
        return 130
    except KeyboardInterrupt:
        logging.getLogger("train").warning(
            "Interrupted at once; re-run the same command to resume from the last checkpoint."
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
