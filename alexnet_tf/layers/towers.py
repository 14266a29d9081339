"""Keras layers for the paper's two-tower ("two-GPU") structure.

Each layer is one stage of the network. It owns one sublayer per tower, knows whether
the stage crosses towers (each tower sees every tower's input, as the paper's conv3,
fc6 and fc7 do) or stays within its own tower, and runs each tower's sublayer, with its
weights, on that tower's device. Stages take and return a list holding one tensor per
tower; a stage may also take a single tensor, which every tower then sees (conv1 sees
the image).
"""

from __future__ import annotations

import contextlib
from typing import Sequence

import keras
from keras import ops

from alexnet_tf.layers.local_response_normalization import LocalResponseNormalization


def paper_initializer() -> keras.initializers.Initializer:
    """The paper's weight initialization: a zero-mean Gaussian with standard deviation 0.01."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.01)


class TowerStage(keras.layers.Layer):
    """Base class of the tower stages: one sublayer per tower, each on its device.

    Subclasses set `self.tower_layers` (one layer per tower) in `__init__` and may
    override `build_tower` and `tower_call` to add work around a tower's sublayer.

    Args:
        towers: int. Number of towers. Defaults to `2`.
        crosses_towers: bool. Whether each tower's sublayer sees the channel-wise
            concatenation of all towers' inputs rather than only its own tower's
            input. Defaults to `False`.
        tower_devices: sequence of str, or None. One device per tower, e.g.
            `("/GPU:0", "/GPU:1")`; each tower's weights and ops are placed there.
            None leaves placement to TensorFlow or the distribution strategy.
            Defaults to `None`.
        **kwargs: Base layer keyword arguments such as `name` and `dtype`.
    """

    def __init__(
        self,
        towers: int = 2,
        crosses_towers: bool = False,
        tower_devices: Sequence[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(towers, bool) or not isinstance(towers, int) or towers < 1:
            raise ValueError(f"`towers` must be a positive integer. Received: towers={towers!r}")
        if tower_devices is not None:
            tower_devices = tuple(tower_devices)
            if len(tower_devices) != towers:
                raise ValueError(
                    f"`tower_devices` must name one device per tower ({towers}). "
                    f"Received: tower_devices={tower_devices!r}"
                )
        self.towers = towers
        self.crosses_towers = bool(crosses_towers)
        self.tower_devices = tower_devices

    def tower_scope(self, tower: int):
        """A context that places ops and variables on `tower`'s device, if one is set."""
        if self.tower_devices is None:
            return contextlib.nullcontext()
        return keras.device(self.tower_devices[tower])

    def _split_inputs(self, inputs) -> list:
        if not isinstance(inputs, (list, tuple)):
            return [inputs] * self.towers
        if len(inputs) != self.towers:
            raise ValueError(
                f"Layer '{self.name}' expects one input per tower ({self.towers}). "
                f"Received: {len(inputs)} inputs"
            )
        return list(inputs)

    def _tower_input_shapes(self, input_shape) -> list[tuple]:
        if isinstance(input_shape, (list, tuple)) and isinstance(input_shape[0], (list, tuple)):
            shapes = [tuple(shape) for shape in self._split_inputs(input_shape)]
        else:
            shapes = [tuple(input_shape)] * self.towers
        if self.crosses_towers:
            channels = sum(shape[-1] for shape in shapes)
            shapes = [shape[:-1] + (channels,) for shape in shapes]
        return shapes

    def build(self, input_shape):
        for tower, shape in enumerate(self._tower_input_shapes(input_shape)):
            with self.tower_scope(tower):
                self.build_tower(tower, shape)

    def build_tower(self, tower: int, input_shape: tuple) -> None:
        """Creates one tower's weights (called on that tower's device)."""
        self.tower_layers[tower].build(input_shape)

    def tower_call(self, tower: int, inputs, training=None):
        """Computes one tower's output from that tower's (possibly crossed) input."""
        return self.tower_layers[tower](inputs)

    def call(self, inputs, training=None):
        inputs = self._split_inputs(inputs)
        outputs = []
        for tower in range(self.towers):
            with self.tower_scope(tower):
                x = ops.concatenate(inputs, axis=-1) if self.crosses_towers else inputs[tower]
                outputs.append(self.tower_call(tower, x, training=training))
        return outputs

    def compute_output_shape(self, input_shape):
        return [
            tuple(layer.compute_output_shape(shape))
            for layer, shape in zip(self.tower_layers, self._tower_input_shapes(input_shape))
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "towers": self.towers,
            "crosses_towers": self.crosses_towers,
            "tower_devices": self.tower_devices,
        }


@keras.saving.register_keras_serializable(package="alexnet_tf")
class TowerConv2D(TowerStage):
    """A convolutional stage: per-tower convolution and ReLU, optionally followed by LRN.

    Args:
        filters: int. Kernels per tower (the paper's conv1 has 48 per tower).
        kernel_size: int. Square kernel size.
        strides: int. Convolution stride. Defaults to `1`.
        padding: str. `"valid"` or `"same"`. Defaults to `"same"`.
        lrn: dict or None. `LocalResponseNormalization` arguments for a normalization
            after the ReLU within each tower, or None for none. Defaults to `None`.
        kernel_initializer: initializer of the kernels. Defaults to the paper's
            zero-mean Gaussian with standard deviation 0.01.
        bias_initializer: initializer of the biases. Defaults to `"zeros"`.
        **kwargs: `TowerStage` arguments (`towers`, `crosses_towers`,
            `tower_devices`) and base layer keyword arguments.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: str = "same",
        lrn: dict | None = None,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.lrn = dict(lrn) if lrn is not None else None
        self.kernel_initializer = keras.initializers.get(kernel_initializer or paper_initializer())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.tower_layers = [
            keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=strides,
                padding=padding,
                activation="relu",
                kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer,
                dtype=self.dtype_policy,
                name=f"{self.name}_tower{tower + 1}",
            )
            for tower in range(self.towers)
        ]
        self.tower_norms = [
            LocalResponseNormalization(
                **self.lrn, dtype=self.dtype_policy, name=f"{self.name}_lrn_tower{tower + 1}"
            )
            for tower in range(self.towers if self.lrn is not None else 0)
        ]

    def build_tower(self, tower, input_shape):
        super().build_tower(tower, input_shape)
        if self.tower_norms:
            self.tower_norms[tower].build(self.tower_layers[tower].compute_output_shape(input_shape))

    def tower_call(self, tower, inputs, training=None):
        x = self.tower_layers[tower](inputs)
        return self.tower_norms[tower](x) if self.tower_norms else x

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "lrn": self.lrn,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


@keras.saving.register_keras_serializable(package="alexnet_tf")
class TowerMaxPooling2D(TowerStage):
    """Per-tower max pooling; the paper's overlapping 3x3 window with stride 2 by default.

    Args:
        pool_size: int. Square window size. Defaults to `3`.
        strides: int. Stride of the window. Defaults to `2`.
        **kwargs: `TowerStage` arguments and base layer keyword arguments.
    """

    def __init__(self, pool_size: int = 3, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = strides
        self.tower_layers = [
            keras.layers.MaxPooling2D(
                pool_size, strides, dtype=self.dtype_policy, name=f"{self.name}_tower{tower + 1}"
            )
            for tower in range(self.towers)
        ]

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides}


@keras.saving.register_keras_serializable(package="alexnet_tf")
class TowerDense(TowerStage):
    """A fully-connected stage: per-tower flatten, dense layer, ReLU and dropout.

    Args:
        units: int. Neurons per tower (the paper's fc6 and fc7 have 2048 per tower).
        dropout: float. Dropout rate applied to the outputs during training only.
            Defaults to `0.5`, the paper's.
        kernel_initializer: initializer of the kernels. Defaults to the paper's
            zero-mean Gaussian with standard deviation 0.01.
        bias_initializer: initializer of the biases. Defaults to `"ones"`, the paper's
            for fc6 and fc7.
        **kwargs: `TowerStage` arguments and base layer keyword arguments.
    """

    def __init__(
        self,
        units: int,
        dropout: float = 0.5,
        kernel_initializer=None,
        bias_initializer="ones",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout!r}")
        self.units = units
        self.dropout = float(dropout)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or paper_initializer())
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.tower_layers = [
            keras.layers.Dense(
                units,
                activation="relu",
                kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer,
                dtype=self.dtype_policy,
                name=f"{self.name}_tower{tower + 1}",
            )
            for tower in range(self.towers)
        ]
        self.tower_dropouts = []
        for tower in range(self.towers):
            # Dropout's random-seed state is a variable created here: keep it on its tower.
            with self.tower_scope(tower):
                self.tower_dropouts.append(
                    keras.layers.Dropout(self.dropout, name=f"{self.name}_dropout_tower{tower + 1}")
                )

    def build_tower(self, tower, input_shape):
        self.tower_layers[tower].build(_flat_shape(input_shape))

    def tower_call(self, tower, inputs, training=None):
        x = ops.reshape(inputs, (-1, _flat_shape(inputs.shape)[-1]))
        return self.tower_dropouts[tower](self.tower_layers[tower](x), training=training)

    def compute_output_shape(self, input_shape):
        return [(shape[0], self.units) for shape in self._tower_input_shapes(input_shape)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "dropout": self.dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }


def _flat_shape(shape) -> tuple:
    features = 1
    for dim in shape[1:]:
        features *= dim
    return (shape[0], features)
