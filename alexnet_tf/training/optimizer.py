"""The paper's optimizer: SGD with momentum and weight decay coupled into the update.

The paper (section 5) updates every weight `w` with learning rate `lr` as

    v <- 0.9 v - 0.0005 lr w - lr dL/dw
    w <- w + v

so the decay term enters the momentum. `keras.optimizers.SGD(weight_decay=...)` does not
do this: Keras applies weight decay decoupled from the gradient (`w <- w - lr wd w`
before the momentum step, as in AdamW), and the decay never accumulates in `v`. With
momentum 0.9 the two differ by up to a factor of ten in the effective decay, so
`PaperSGD` adds `wd * w` to the gradient instead, inside the update step: after the
gradients are summed over replicas and, for float16, unscaled.
"""

from __future__ import annotations

import keras
from keras import ops

from alexnet_tf.training.config import TrainConfig
from alexnet_tf.training.schedules import learning_rate_schedule


@keras.saving.register_keras_serializable(package="alexnet_tf")
class PaperSGD(keras.optimizers.SGD):
    """SGD with momentum and the paper's coupled weight decay.

    The update of a variable `w` with gradient `g` is
    `v <- momentum * v - lr * (g + coupled_weight_decay * w); w <- w + v`.
    Weight decay applies to kernels (variables of rank 2 and more), not to biases, as in
    the layer definitions of the paper's cuda-convnet (weight cost on weights only).

    Args:
        learning_rate: float or `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.01`.
        momentum: float. Defaults to `0.9`.
        coupled_weight_decay: float. Coefficient of `w` added to the gradient.
            Defaults to `0.0005`.
        **kwargs: Other `keras.optimizers.SGD` arguments, such as `name`. Keras'
            decoupled `weight_decay` is refused: it is a different rule.

    Example:

    >>> optimizer = PaperSGD(learning_rate=0.01)
    >>> optimizer.coupled_weight_decay
    0.0005
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum: float = 0.9,
        coupled_weight_decay: float = 0.0005,
        **kwargs,
    ):
        if kwargs.get("weight_decay") is not None:
            raise ValueError(
                "PaperSGD takes `coupled_weight_decay` (the paper's rule); Keras' "
                "`weight_decay` is decoupled from the momentum and is not the paper's. "
                f"Received: weight_decay={kwargs['weight_decay']!r}"
            )
        super().__init__(learning_rate=learning_rate, momentum=float(momentum), **kwargs)
        if not coupled_weight_decay >= 0:
            raise ValueError(
                "`coupled_weight_decay` must be non-negative. "
                f"Received: coupled_weight_decay={coupled_weight_decay!r}"
            )
        self.coupled_weight_decay = float(coupled_weight_decay)

    def update_step(self, gradient, variable, learning_rate):
        if self.coupled_weight_decay and len(variable.shape) >= 2:
            gradient = ops.add(
                ops.cast(gradient, variable.dtype),
                ops.multiply(ops.cast(self.coupled_weight_decay, variable.dtype), variable),
            )
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "coupled_weight_decay": self.coupled_weight_decay}


def build_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The optimizer of a run: `PaperSGD` with the configured schedule and loss scaling.

    Create it inside the distribution strategy's scope, so its variables are mirrored.

    Args:
        config: TrainConfig. Supplies the learning rate, momentum, weight decay,
            schedule and dtype.
        steps_per_epoch: int. Steps per epoch, for step-based schedules.

    Returns:
        `PaperSGD`, wrapped in `keras.optimizers.LossScaleOptimizer` (dynamic loss
        scaling) when `config.dtype == "float16"`.
    """
    optimizer = PaperSGD(
        learning_rate=learning_rate_schedule(config, steps_per_epoch),
        momentum=config.momentum,
        coupled_weight_decay=config.weight_decay,
    )
    if config.dtype == "float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
