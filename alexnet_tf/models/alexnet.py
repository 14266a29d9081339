"""The paper's network: `build_alexnet` and the models derived from it."""

from __future__ import annotations

from typing import Sequence

import keras

from alexnet_tf.layers.local_response_normalization import LRN_PRESETS
from alexnet_tf.layers.towers import (
    TowerConv2D,
    TowerDense,
    TowerMaxPooling2D,
    paper_initializer,
)

PAPER_INPUT_SIZE = 227
# The smallest input whose conv1 -> pool1 -> pool2 -> pool5 chain still leaves a 1x1 map.
MIN_INPUT_SIZE = 67
INPUT_NAME = "images"
FEATURES_LAYER = "fc7_features"
LOGITS_LAYER = "logits"

# (name, kernels of the whole layer, kernel size, stride, padding, crosses towers,
#  LRN after ReLU, max-pool after, bias init): the paper's Table / Figure 2.
_CONV_STAGES = (
    ("conv1", 96, 11, 4, "valid", False, True, True, "zeros"),
    ("conv2", 256, 5, 1, "same", False, True, True, "ones"),
    ("conv3", 384, 3, 1, "same", True, False, False, "zeros"),
    ("conv4", 384, 3, 1, "same", False, False, False, "ones"),
    ("conv5", 256, 3, 1, "same", False, False, True, "ones"),
)
_FC_UNITS = 4096


def pool5_size(input_size: int) -> int:
    """Side of the pool5 map for a square input of `input_size` pixels (6 for 227)."""
    size = (input_size - 11) // 4 + 1  # conv1, valid, stride 4
    for _ in range(3):  # pool1, pool2, pool5: 3x3 windows, stride 2
        size = (size - 3) // 2 + 1
    return size


def build_alexnet(
    num_classes: int = 1000,
    *,
    towers: int = 2,
    width_multiplier: float = 1.0,
    input_size: int = PAPER_INPUT_SIZE,
    lrn: str | dict | None = "paper",
    dropout: float = 0.5,
    tower_devices: Sequence[str] | None = None,
    dtype: str | None = None,
    name: str = "alexnet",
) -> keras.Model:
    """Builds the paper's two-tower AlexNet as a Keras functional model.

    The model maps float images `(batch, input_size, input_size, 3)` to `num_classes`
    float32 logits. Every stage is a tower layer (`TowerConv2D`, `TowerMaxPooling2D`,
    `TowerDense`) holding one branch per tower; the towers exchange data only at conv3,
    fc6, fc7 and fc8, as in the paper. Weights are initialized from N(0, 0.01), biases
    to 1 in conv2, conv4, conv5, fc6 and fc7 and to 0 elsewhere; dropout 0.5 follows
    fc6 and fc7 during training. With the defaults the model has 60,965,224 parameters.

    The paper states a 224x224 input, but an 11x11 stride-4 valid convolution needs 227
    pixels to give its 55x55 conv1 maps, so 227 is the default.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NIPS 2012.

    Args:
        num_classes: int. Number of output classes. Defaults to `1000`.
        towers: int. `2` for the paper's two towers, `1` for a single tower with the
            paper's total widths (every layer then sees all channels; 62,378,344
            parameters). Defaults to `2`.
        width_multiplier: float. Scales the kernels and neurons of every layer but
            fc8, for small experiments. Defaults to `1.0`.
        input_size: int. Side of the square input images. Any size from 67 builds;
            227 to 230 give the paper's 6x6 pool5 maps and 9216-wide fc6 input.
            Defaults to `227`.
        lrn: str, dict or None. The Local Response Normalization constants: a preset
            name from `LRN_PRESETS` (`"paper"`, `"cuda-convnet"`, `"caffe"`), a dict
            of `LocalResponseNormalization` arguments, or None to leave it out
            (an ablation). Defaults to `"paper"`.
        dropout: float. Dropout rate after fc6 and fc7. Defaults to `0.5`.
        tower_devices: sequence of str or None. One device per tower, e.g.
            `("/GPU:0", "/GPU:1")`, to place each tower's weights and ops as the paper
            did on two GPUs. Defaults to `None` (no explicit placement).
        dtype: str or None. Keras dtype policy of every layer, e.g.
            `"mixed_bfloat16"` or `"mixed_float16"` for mixed precision; the logits
            are float32 under any policy. Defaults to `None` (the global policy).
        name: str. Name of the model. Defaults to `"alexnet"`.

    Returns:
        A `keras.Model` named `name` with input `"images"` and float32 logits.

    Example:

    >>> model = build_alexnet(num_classes=10, width_multiplier=0.125, input_size=67)
    >>> model.output_shape
    (None, 10)
    """
    _validate(num_classes, towers, width_multiplier, input_size)
    lrn_config = _lrn_config(lrn)
    stage_args = {"towers": towers, "tower_devices": tower_devices, "dtype": dtype}

    def per_tower(total: int) -> int:
        return max(1, round(total * width_multiplier / towers))

    images = keras.Input((input_size, input_size, 3), name=INPUT_NAME)
    x = images
    for stage, kernels, size, stride, padding, crosses, norm, pool, bias in _CONV_STAGES:
        x = TowerConv2D(
            per_tower(kernels),
            size,
            strides=stride,
            padding=padding,
            lrn=lrn_config if norm else None,
            bias_initializer=bias,
            crosses_towers=crosses or towers == 1,
            name=stage,
            **stage_args,
        )(x)
        if pool:
            x = TowerMaxPooling2D(name=f"pool{stage[-1]}", **stage_args)(x)
    for stage in ("fc6", "fc7"):
        x = TowerDense(
            per_tower(_FC_UNITS), dropout=dropout, crosses_towers=True, name=stage, **stage_args
        )(x)
    features = keras.layers.Concatenate(name=FEATURES_LAYER, dtype=dtype)(x) if towers > 1 else x[0]
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=paper_initializer(), dtype=dtype, name="fc8"
    )(features)
    # Under a mixed-precision policy the logits still leave the model in float32.
    logits = keras.layers.Activation("linear", dtype="float32", name=LOGITS_LAYER)(logits)
    return keras.Model(images, logits, name=name)


def feature_model(model: keras.Model) -> keras.Model:
    """A model sharing `model`'s weights that maps images to fc7 features.

    These are the 4096-wide (for the paper's widths) post-ReLU fc7 activations of both
    towers that the paper uses to find similar images by Euclidean distance.

    Args:
        model: keras.Model. A model made by `build_alexnet`.
    """
    fc7 = model.get_layer("fc7").output
    features = model.get_layer(FEATURES_LAYER).output if len(fc7) > 1 else fc7[0]
    return keras.Model(model.inputs, features, name=f"{model.name}_fc7")


def probability_model(model: keras.Model) -> keras.Model:
    """A model sharing `model`'s weights that maps images to class probabilities.

    Args:
        model: keras.Model. A model made by `build_alexnet` (or any logits model).
    """
    probabilities = keras.layers.Softmax(dtype="float32", name="probabilities")(model.outputs[0])
    return keras.Model(model.inputs, probabilities, name=f"{model.name}_probabilities")


def _lrn_config(lrn: str | dict | None) -> dict | None:
    if lrn is None or isinstance(lrn, dict):
        return lrn
    if lrn not in LRN_PRESETS:
        raise ValueError(
            f"`lrn` must be a preset name in {sorted(LRN_PRESETS)}, a dict of "
            f"LocalResponseNormalization arguments, or None. Received: lrn={lrn!r}"
        )
    return LRN_PRESETS[lrn]


def _validate(num_classes, towers, width_multiplier, input_size) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            f"`num_classes` must be a positive integer. Received: num_classes={num_classes!r}"
        )
    if towers not in (1, 2):
        raise ValueError(
            "`towers` must be 2 (the paper's two towers) or 1 (one tower of the same "
            f"total width). Received: towers={towers!r}"
        )
    if not width_multiplier > 0:
        raise ValueError(
            f"`width_multiplier` must be positive. Received: width_multiplier={width_multiplier!r}"
        )
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < MIN_INPUT_SIZE:
        raise ValueError(
            f"`input_size` must be an integer of at least {MIN_INPUT_SIZE}: conv1 (11x11, "
            "stride 4, valid) and three 3x3 stride-2 poolings leave no pool5 map below "
            f"that; {PAPER_INPUT_SIZE} gives the paper's 6x6 pool5. "
            f"Received: input_size={input_size!r}"
        )
