"""LocalResponseNormalization against an independent numpy computation of the paper's formula."""

import numpy as np
import pytest
import keras
import tensorflow as tf

from alexnet_tf import LRN_PRESETS, LocalResponseNormalization


def paper_lrn(a: np.ndarray, radius: int, k: float, alpha: float, beta: float) -> np.ndarray:
    """b_i = a_i / (k + alpha * sum_{j=max(0,i-r)}^{min(N-1,i+r)} a_j^2)^beta, channel by channel."""
    a = a.astype(np.float64)
    channels = a.shape[-1]
    out = np.empty_like(a)
    for i in range(channels):
        window = a[..., max(0, i - radius) : min(channels - 1, i + radius) + 1]
        out[..., i] = a[..., i] / (k + alpha * np.sum(window**2, axis=-1)) ** beta
    return out


def relu_activations(shape, scale=40.0, seed=0):
    """Post-ReLU activations large enough that the alpha term matters (alpha*sum ~ k)."""
    return np.maximum(np.random.default_rng(seed).normal(0, scale, shape), 0).astype("float32")


CONSTANT_SETS = [
    {"depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75},
    {"depth_radius": 2, "bias": 1.0, "alpha": 2e-5, "beta": 0.75},
    {"depth_radius": 0, "bias": 1.5, "alpha": 1e-3, "beta": 0.5},
    {"depth_radius": 3, "bias": 2.0, "alpha": 5e-4, "beta": 1.0},
    {"depth_radius": 7, "bias": 0.5, "alpha": 1e-4, "beta": 0.25},
]


@pytest.mark.parametrize("constants", CONSTANT_SETS)
def test_matches_the_papers_formula_including_edge_channels(constants):
    x = relu_activations((2, 3, 4, 12))
    layer = LocalResponseNormalization(**constants)
    expected = paper_lrn(
        x, constants["depth_radius"], constants["bias"], constants["alpha"], constants["beta"]
    )
    got = keras.ops.convert_to_numpy(layer(x))
    # The first and last channels see truncated windows: check them on their own too.
    np.testing.assert_allclose(got[..., 0], expected[..., 0], rtol=2e-6)
    np.testing.assert_allclose(got[..., -1], expected[..., -1], rtol=2e-6)
    np.testing.assert_allclose(got, expected, rtol=2e-6)


def test_defaults_are_the_papers_constants():
    layer = LocalResponseNormalization()
    assert (layer.depth_radius, layer.bias, layer.alpha, layer.beta) == (2, 2.0, 1e-4, 0.75)
    config = layer.get_config()
    assert {k: config[k] for k in ("depth_radius", "bias", "alpha", "beta")} == LRN_PRESETS["paper"]


@pytest.mark.parametrize(
    "preset, k, effective_alpha",
    [("paper", 2.0, 1e-4), ("cuda-convnet", 2.0, 2e-5), ("caffe", 1.0, 2e-5)],
)
def test_presets_follow_each_frameworks_convention(preset, k, effective_alpha):
    x = relu_activations((1, 2, 2, 9), seed=1)
    got = keras.ops.convert_to_numpy(LocalResponseNormalization.from_preset(preset)(x))
    np.testing.assert_allclose(got, paper_lrn(x, 2, k, effective_alpha, 0.75), rtol=2e-6)


@pytest.mark.parametrize("constants", CONSTANT_SETS[:3])
def test_equals_tensorflow_lrn_where_conventions_coincide(constants):
    x = relu_activations((2, 5, 5, 16), seed=2)
    expected = tf.nn.local_response_normalization(
        x,
        depth_radius=constants["depth_radius"],
        bias=constants["bias"],
        alpha=constants["alpha"],
        beta=constants["beta"],
    )
    got = LocalResponseNormalization(**constants)(x)
    np.testing.assert_allclose(got, expected, rtol=2e-6)


@pytest.mark.parametrize("constants", CONSTANT_SETS[:3])
def test_hand_written_gradient_equals_tensorflows(constants):
    x = tf.constant(relu_activations((2, 4, 4, 16), seed=3))
    upstream = tf.random.stateless_normal(x.shape, seed=(1, 2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        ours = LocalResponseNormalization(**constants)(x)
        theirs = tf.nn.local_response_normalization(x, **constants)
    np.testing.assert_allclose(
        tape.gradient(ours, x, upstream), tape.gradient(theirs, x, upstream), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16", "bfloat16", "float16"])
def test_runs_in_half_precision_close_to_float32(policy):
    x = relu_activations((2, 3, 3, 8), seed=4)
    layer = LocalResponseNormalization(dtype=policy)
    expected = paper_lrn(x, 2, 2.0, 1e-4, 0.75)
    with tf.GradientTape() as tape:
        inputs = tf.constant(x)
        tape.watch(inputs)
        got = layer(inputs)
    assert got.dtype == layer.compute_dtype
    gradient = tape.gradient(got, inputs)
    assert np.all(np.isfinite(gradient.numpy()))
    np.testing.assert_allclose(tf.cast(got, tf.float32), expected, rtol=1e-2, atol=1e-2)


def test_runs_inside_a_compiled_function_after_lazy_build():
    layer = LocalResponseNormalization()
    function = tf.function(lambda t: layer(t))
    x = relu_activations((1, 2, 2, 6), seed=5)
    first = function(x)
    again = tf.function(lambda t: layer(t))(x)  # a second graph reuses the built layer
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"depth_radius": -1}, "depth_radius"),
        ({"depth_radius": 2.5}, "depth_radius"),
        ({"bias": 0.0}, "bias"),
        ({"alpha": -1e-4}, "alpha"),
        ({"beta": float("nan")}, "beta"),
    ],
)
def test_rejects_invalid_constants_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=f"{message}.*Received"):
        LocalResponseNormalization(**kwargs)


def test_rejects_unknown_preset():
    with pytest.raises(ValueError, match="preset='alexnet'"):
        LocalResponseNormalization.from_preset("alexnet")


def test_serialization_round_trip(tmp_path):
    layer = LocalResponseNormalization(depth_radius=3, bias=1.0, alpha=3e-4, beta=0.6, name="norm")
    clone = LocalResponseNormalization.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()

    inputs = keras.Input((4, 4, 10))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "lrn.keras")
    restored = keras.saving.load_model(tmp_path / "lrn.keras")
    x = relu_activations((1, 4, 4, 10), seed=6)
    np.testing.assert_array_equal(restored(x), model(x))
    assert restored.get_layer("norm").get_config() == layer.get_config()
