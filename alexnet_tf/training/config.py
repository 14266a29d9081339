"""The training configuration: every choice of a run, with the paper's recipe as defaults.

A `TrainConfig` is resolved before training starts (the seed is drawn, the class count
and steps per epoch are read from the data) and saved as `MODEL_DIR/config.json`, so a
run can be reproduced from that file alone (`tools/train.py --config config.json`).
Re-running into the same model directory resumes; `check_resumable` refuses a saved
configuration that the new one cannot continue.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from alexnet_tf.files import write_text_atomically

CONFIG_FILENAME = "config.json"

STRATEGIES = ("auto", "towers", "multiworker")
DTYPES = ("float32", "bfloat16", "float16")
SCHEDULES = ("plateau", "step", "cosine")
LRN_CHOICES = ("paper", "cuda-convnet", "caffe", "none")
EVAL_CROPS = ("center", "ten")

# Settings that may differ between a saved run and the command that resumes it: where
# the data lives, how long to train, how the work is spread and checkpointed. Anything
# else changes the experiment (or the shape of the saved state) and is refused.
RESUMABLE_CHANGES = frozenset(
    {"data_dir", "model_dir", "epochs", "strategy", "virtual_devices", "checkpoint_steps", "keep_checkpoints"}
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. Defaults follow the paper (section 3).

    Args:
        data_dir: str. Data set root: ImageNet-layout split folders or TFRecord shards
            (see `alexnet_tf.data.resolve_source`).
        model_dir: str. Output folder: model, checkpoints, history, logs, config.
        train_split: str. Training split name. Defaults to `"train"`.
        validation_split: str or None. Validation split name, or None to train without
            validation (then the last model is kept and only time-based schedules
            apply). Defaults to `"val"`.
        validation_crop: str. `"center"` or `"ten"` (the paper's 10-crop averaging) for
            the per-epoch validation. Defaults to `"center"`.
        towers: int. 2 for the paper's two towers, 1 for one tower. Defaults to `2`.
        width_multiplier: float. Scales every layer but fc8. Defaults to `1.0`.
        lrn: str. LRN preset (`"paper"`, `"cuda-convnet"`, `"caffe"`) or `"none"`.
            Defaults to `"paper"`.
        dropout: float. Dropout rate after fc6 and fc7. Defaults to `0.5`.
        image_size: int. Side of the rescaled central square. Defaults to `256`.
        crop_size: int. Side of the crops, the model's input. Defaults to `227`.
        random_crop: bool. Random training crops. Defaults to `True`.
        flip: bool. Random horizontal reflections. Defaults to `True`.
        pca_lighting: bool. The paper's PCA lighting noise. Defaults to `True`.
        epochs: int. Number of epochs. Defaults to `90`.
        batch_size: int. Global batch size, split evenly over the replicas.
            Defaults to `128`.
        learning_rate: float. Initial learning rate. Defaults to `0.01`.
        momentum: float. SGD momentum. Defaults to `0.9`.
        weight_decay: float. Weight decay coupled into the gradient as in the paper's
            update rule (see `PaperSGD`). Defaults to `0.0005`.
        schedule: str. `"plateau"` (the paper: multiply by `decay_factor` when the
            validation top-1 error stops improving), `"step"` (multiply by
            `decay_factor` every `step_epochs`) or `"cosine"`. Defaults to `"plateau"`.
        decay_factor: float. Factor applied to the learning rate at each reduction
            (plateau or step). Defaults to `0.1`.
        plateau_patience: int. Epochs without improvement before reducing.
            Defaults to `5`.
        plateau_min_delta: float. Decrease of the validation top-1 error (a fraction)
            that counts as an improvement. Defaults to `0.001`.
        max_reductions: int. Most reductions on plateaus (the paper's three).
            Defaults to `3`.
        step_epochs: int. Epochs between reductions of the `"step"` schedule.
            Defaults to `30`.
        warmup_epochs: int. Linear warm-up epochs of the `"cosine"` schedule.
            Defaults to `0`.
        strategy: str. `"auto"`, `"towers"` or `"multiworker"` (see
            `alexnet_tf.training.strategy`). Defaults to `"auto"`.
        virtual_devices: int. Split the CPU into this many logical devices (0 leaves it
            whole). Defaults to `0`.
        dtype: str. Compute dtype: `"float32"`, `"bfloat16"` or `"float16"` (mixed
            precision, float32 variables; float16 adds dynamic loss scaling).
            Defaults to `"float32"`.
        seed: int or None. Seed of initialization, shuffling and augmentation; None
            draws one, which is saved. Defaults to `None`.
        num_classes: int or None. Number of classes; None reads it from the data.
            Defaults to `None`.
        steps_per_epoch: int or None. Training steps per epoch; None means one pass over
            the training split (its size over the batch size). Defaults to `None`.
        validation_steps: int or None. Validation batches per epoch; None evaluates the
            whole split. Defaults to `None`.
        checkpoint_steps: int. Save a checkpoint every this many steps as well as after
            every epoch (0: after epochs only). Defaults to `1000`.
        keep_checkpoints: int. Checkpoints kept on disk. Defaults to `2`.
    """

    data_dir: str
    model_dir: str
    train_split: str = "train"
    validation_split: str | None = "val"
    validation_crop: str = "center"
    towers: int = 2
    width_multiplier: float = 1.0
    lrn: str = "paper"
    dropout: float = 0.5
    image_size: int = 256
    crop_size: int = 227
    random_crop: bool = True
    flip: bool = True
    pca_lighting: bool = True
    epochs: int = 90
    batch_size: int = 128
    learning_rate: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0005
    schedule: str = "plateau"
    decay_factor: float = 0.1
    plateau_patience: int = 5
    plateau_min_delta: float = 0.001
    max_reductions: int = 3
    step_epochs: int = 30
    warmup_epochs: int = 0
    strategy: str = "auto"
    virtual_devices: int = 0
    dtype: str = "float32"
    seed: int | None = None
    num_classes: int | None = None
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    checkpoint_steps: int = 1000
    keep_checkpoints: int = 2

    def __post_init__(self):
        for name, choices in (
            ("strategy", STRATEGIES),
            ("dtype", DTYPES),
            ("schedule", SCHEDULES),
            ("lrn", LRN_CHOICES),
            ("validation_crop", EVAL_CROPS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"`{name}` must be one of {choices}. Received: {name}={getattr(self, name)!r}"
                )
        for name in ("epochs", "batch_size", "step_epochs", "keep_checkpoints"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("plateau_patience", "max_reductions", "warmup_epochs", "virtual_devices", "checkpoint_steps"):
            _check_int(name, getattr(self, name), minimum=0)
        for name in ("num_classes", "steps_per_epoch", "validation_steps"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        if self.seed is not None:
            _check_int("seed", self.seed, minimum=0)
        for name in ("learning_rate", "momentum", "weight_decay", "plateau_min_delta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"`{name}` must be a non-negative number. Received: {name}={value!r}")
        if not self.learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be positive. Received: learning_rate={self.learning_rate!r}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={self.dropout!r}")
        if not 0.0 < self.decay_factor < 1.0:
            raise ValueError(
                f"`decay_factor` must be in (0, 1). Received: decay_factor={self.decay_factor!r}"
            )
        if self.warmup_epochs and self.schedule != "cosine":
            raise ValueError(
                "`warmup_epochs` applies to the cosine schedule only. "
                f"Received: warmup_epochs={self.warmup_epochs}, schedule={self.schedule!r}"
            )
        if self.warmup_epochs >= self.epochs:
            raise ValueError(
                "`warmup_epochs` must be fewer than `epochs`. "
                f"Received: warmup_epochs={self.warmup_epochs}, epochs={self.epochs}"
            )
        if self.strategy == "towers" and self.towers != 2:
            raise ValueError(
                "The towers strategy places the paper's two towers on two devices; it needs "
                f"`towers=2`. Received: towers={self.towers}"
            )
        if self.schedule == "plateau" and self.validation_split is None:
            raise ValueError(
                "The plateau schedule reduces the learning rate when the validation error "
                "stops improving, so it needs a validation split; choose "
                "`schedule='step'` or `'cosine'` to train without one. "
                "Received: validation_split=None"
            )

    @property
    def model_policy(self) -> str:
        """The Keras dtype policy of the model for `dtype`."""
        return "float32" if self.dtype == "float32" else f"mixed_{self.dtype}"

    def replace(self, **changes) -> TrainConfig:
        """Returns a copy with `changes` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """The configuration as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Builds a configuration from `to_dict` output; unknown keys are an error."""
        unknown = sorted(set(values) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(
                f"Unknown training configuration keys {unknown}. Received: keys={sorted(values)}"
            )
        return cls(**values)


def save_config(config: TrainConfig, directory: str | os.PathLike, extra: dict | None = None) -> Path:
    """Writes `directory/config.json`: the configuration and, under `"run"`, `extra`.

    Args:
        config: TrainConfig. The resolved configuration.
        directory: str or Path. The model directory.
        extra: dict or None. Facts about the run that are not settings (library
            versions, data set sizes). Defaults to `None`.
    """
    path = Path(directory) / CONFIG_FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"training": config.to_dict(), "run": extra or {}}
    write_text_atomically(path, json.dumps(document, indent=2) + "\n")
    return path


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Reads the configuration from a `config.json` file, or a model directory holding one.

    Raises:
        FileNotFoundError: when there is no such file.
        ValueError: when the file is not a training configuration.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILENAME
    if not path.is_file():
        raise FileNotFoundError(f"No training configuration at {path}. Received: path={str(path)!r}")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text())["training"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(
            f"{path} is not a training configuration written by alexnet_tf ({error!r}). "
            f"Received: path={str(path)!r}"
        ) from error


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    """Raises unless a run saved with `saved` can be continued with `config`.

    Both must be resolved (seed, class count and steps per epoch filled in).

    Raises:
        ValueError: listing every setting that differs and may not change.
    """
    new, old = config.to_dict(), saved.to_dict()
    changed = {
        name: (old[name], new[name])
        for name in new
        if name not in RESUMABLE_CHANGES and new[name] != old[name]
    }
    if changed:
        described = ", ".join(f"{name}: {a!r} -> {b!r}" for name, (a, b) in sorted(changed.items()))
        raise ValueError(
            f"The model directory {config.model_dir} holds a run with a different "
            f"configuration ({described}). Only {sorted(RESUMABLE_CHANGES)} may change when "
            "resuming; use a new --model-dir for a new experiment. "
            f"Received: model_dir={config.model_dir!r}"
        )


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
