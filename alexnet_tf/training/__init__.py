"""Training AlexNet with tf.distribute: the paper's recipe, two-device towers, many workers.

Modules, one job each:

- `config`: `TrainConfig`, every setting of a run (paper defaults), saved as `config.json`.
- `optimizer`: `PaperSGD`, SGD with the paper's coupled weight decay; `build_optimizer`.
- `schedules`: `ReduceOnPlateau` (the paper's schedule, checkpointed state), step, cosine.
- `strategy`: logical CPU devices and the `auto` / `towers` / `multiworker` strategies.
- `metrics`, `evaluation`: loss and top-1/top-5 error; centre and ten-crop evaluation.
- `checkpoint`, `callbacks`, `outputs`: the training state, the kept model and
  history, the model directory's layout (atomic writes: `alexnet_tf.files`).
- `inputs`: the data directory's splits and the per-epoch `tf.data` pipelines.
- `interruption`: `StopSignals`, a clean stop with a checkpoint on SIGINT/SIGTERM.
- `loop`: `Trainer`, the distributed training loop; `run`: `prepare_training`, `train`.
"""

from alexnet_tf.training.config import TrainConfig, check_resumable, load_config, save_config
from alexnet_tf.training.evaluation import Evaluator, crop_averaged_probabilities
from alexnet_tf.training.interruption import StopSignals, TrainingInterrupted
from alexnet_tf.training.loop import Trainer, TrainingProgress
from alexnet_tf.training.optimizer import PaperSGD, build_optimizer
from alexnet_tf.training.outputs import ModelDir
from alexnet_tf.training.run import TrainingRun, prepare_training, train
from alexnet_tf.training.schedules import ReduceOnPlateau, learning_rate_schedule
from alexnet_tf.training.strategy import (
    Distribution,
    check_batch_size,
    configure_virtual_devices,
    make_distribution,
)

__all__ = [
    "Distribution",
    "Evaluator",
    "ModelDir",
    "PaperSGD",
    "ReduceOnPlateau",
    "StopSignals",
    "TrainConfig",
    "Trainer",
    "TrainingInterrupted",
    "TrainingProgress",
    "TrainingRun",
    "build_optimizer",
    "check_batch_size",
    "check_resumable",
    "configure_virtual_devices",
    "crop_averaged_probabilities",
    "learning_rate_schedule",
    "load_config",
    "make_distribution",
    "prepare_training",
    "save_config",
    "train",
]
