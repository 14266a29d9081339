"""Local Response Normalization across channels (Krizhevsky et al., 2012, section 3.3)."""

from __future__ import annotations

import numpy as np
import keras
import tensorflow as tf
from keras import ops

# Each preset is (depth_radius, bias k, alpha as it enters the denominator, beta).
# The paper writes alpha un-divided by the window size n; cuda-convnet and Caffe divide
# the configured alpha=1e-4 by n=5, and Caffe also uses k=1.
LRN_PRESETS: dict[str, dict[str, float]] = {
    "paper": {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75},
    "cuda-convnet": {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4 / 5, "beta": 0.75},
    "caffe": {"depth_radius": 2, "bias": 1.0, "alpha": 1e-4 / 5, "beta": 0.75},
}


@keras.saving.register_keras_serializable(package="alexnet_tf")
class LocalResponseNormalization(keras.layers.Layer):
    """Local Response Normalization over the channel axis, as in the AlexNet paper.

    Computes, for each position and channel `i` of `N` channels,

        b_i = a_i / (k + alpha * sum_{j=max(0, i-r)}^{min(N-1, i+r)} a_j^2) ** beta

    with `r = depth_radius` (the paper's `n = 2r + 1`). `alpha` enters the sum
    exactly as given, as in the paper's formula (not divided by `n`). The defaults are
    the paper's constants: `n=5`, `k=2`, `alpha=1e-4`, `beta=0.75`. Use
    `LocalResponseNormalization.from_preset("caffe")` (or `"cuda-convnet"`) for the
    conventions of those frameworks, which divide their configured alpha by `n`.

    The channel-window sum is a product with a banded 0/1 matrix, so it is exact at the
    first and last channels, and the layer runs in every dtype on every device (TensorFlow's own
    LRN kernel has no bfloat16 version on CPU). The normalization is computed in
    float32 whatever the layer's compute dtype: in bfloat16 the `alpha * sum` term
    (about 1e-4 of `k`) would vanish in the 8-bit mantissa. Forward and backward pass
    are each fused by XLA, with the gradient written out by hand; unfused, this chain
    of elementwise ops costs as much as the convolution before it.

    Reference: Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NIPS 2012.

    Args:
        depth_radius: int. Half-width `r` of the channel window; the window holds
            `2r + 1` channels. Defaults to `2`.
        bias: float. The constant `k`. Defaults to `2.0`.
        alpha: float. Scale of the windowed sum of squares, used as given.
            Defaults to `1e-4`.
        beta: float. Exponent of the denominator. Defaults to `0.75`.
        **kwargs: Base layer keyword arguments such as `name` and `dtype`.

    Example:

    >>> layer = LocalResponseNormalization()
    >>> layer(np.ones((1, 2, 2, 8), "float32")).shape
    (1, 2, 2, 8)
    """

    def __init__(
        self,
        depth_radius: int = 2,
        bias: float = 2.0,
        alpha: float = 1e-4,
        beta: float = 0.75,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(depth_radius, bool) or not isinstance(depth_radius, (int, np.integer)) or depth_radius < 0:
            raise ValueError(
                "`depth_radius` must be a non-negative integer. "
                f"Received: depth_radius={depth_radius!r}"
            )
        for name, value in (("bias", bias), ("alpha", alpha), ("beta", beta)):
            if not np.isfinite(value):
                raise ValueError(f"`{name}` must be a finite number. Received: {name}={value!r}")
        if bias <= 0:
            raise ValueError(
                "`bias` must be positive so the denominator never vanishes. "
                f"Received: bias={bias!r}"
            )
        if alpha < 0:
            raise ValueError(f"`alpha` must be non-negative. Received: alpha={alpha!r}")
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.supports_masking = True

    @classmethod
    def from_preset(cls, preset: str, **kwargs) -> "LocalResponseNormalization":
        """Creates the layer with one of the named constant sets in `LRN_PRESETS`.

        Args:
            preset: str. `"paper"`, `"cuda-convnet"` or `"caffe"`.
            **kwargs: Base layer keyword arguments such as `name` and `dtype`.
        """
        if preset not in LRN_PRESETS:
            raise ValueError(
                f"Unknown LRN preset; expected one of {sorted(LRN_PRESETS)}. "
                f"Received: preset={preset!r}"
            )
        return cls(**LRN_PRESETS[preset], **kwargs)

    def call(self, inputs):
        constants = (self.depth_radius, self.bias, self.alpha, self.beta)

        @tf.custom_gradient
        def normalize(x):
            return _lrn(x, *constants), lambda upstream: _lrn_gradient(x, upstream, *constants)

        return normalize(ops.cast(inputs, self.compute_dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "depth_radius": self.depth_radius,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


def _window_sum(squares, depth_radius: int):
    """Sums `squares` over the channel window `[i - depth_radius, i + depth_radius]`.

    A product with a banded 0/1 matrix: exact at the first and last channels, and the
    band is symmetric, so the same sum also transposes the window in the gradient.
    """
    channels = ops.arange(squares.shape[-1])
    band = ops.abs(channels[:, None] - channels[None, :]) <= depth_radius
    return ops.matmul(squares, ops.cast(band, squares.dtype))


@tf.function(jit_compile=True)
def _lrn(x, depth_radius, bias, alpha, beta):
    """`x / (bias + alpha * window_sum(x^2)) ** beta` in one fused pass."""
    x32 = ops.cast(x, "float32")
    denominator = bias + alpha * _window_sum(ops.square(x32), depth_radius)
    return ops.cast(x32 * ops.power(denominator, -beta), x.dtype)


@tf.function(jit_compile=True)
def _lrn_gradient(x, upstream, depth_radius, bias, alpha, beta):
    """The input gradient of `_lrn`, recomputing the denominator instead of storing it.

    With d = bias + alpha * window_sum(x^2) and y_i = x_i * d_i^-beta:
    dL/dx_j = g_j d_j^-beta - 2 alpha beta x_j sum_{i near j} g_i x_i d_i^(-beta-1).
    """
    x32, upstream32 = ops.cast(x, "float32"), ops.cast(upstream, "float32")
    denominator = bias + alpha * _window_sum(ops.square(x32), depth_radius)
    scale = ops.power(denominator, -beta)
    weighted = upstream32 * x32 * scale / denominator
    gradient = upstream32 * scale - (2.0 * alpha * beta) * x32 * _window_sum(weighted, depth_radius)
    return ops.cast(gradient, x.dtype)
