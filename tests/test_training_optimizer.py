"""The paper's update rule: SGD with momentum and weight decay coupled into the gradient."""

import keras
import numpy as np
import pytest

from alexnet_tf.training import PaperSGD, TrainConfig, build_optimizer

LR, MOMENTUM, DECAY = 0.1, 0.9, 0.05  # a large decay, so a wrong rule shows clearly


def _paper_rule(weights, gradients_per_step):
    """`v <- m v - wd lr w - lr g; w <- w + v` by hand (decay on kernels only)."""
    weights = [w.copy() for w in weights]
    velocities = [np.zeros_like(w) for w in weights]
    for gradients in gradients_per_step:
        for i, (w, g) in enumerate(zip(weights, gradients)):
            decay = DECAY if w.ndim >= 2 else 0.0
            velocities[i] = MOMENTUM * velocities[i] - decay * LR * w - LR * g
            weights[i] = w + velocities[i]
    return weights


def _apply(optimizer, weights, gradients_per_step):
    variables = [keras.Variable(w) for w in weights]
    for gradients in gradients_per_step:
        optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(g) for g in gradients], variables))
    return [v.numpy() for v in variables]


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    kernel = rng.normal(0, 1, (3, 4)).astype("float32")
    bias = rng.normal(0, 1, (4,)).astype("float32")
    steps = [[rng.normal(0, 1, (3, 4)).astype("float32"), rng.normal(0, 1, (4,)).astype("float32")] for _ in range(3)]
    return [kernel, bias], steps


def test_paper_sgd_follows_the_papers_update_rule(problem):
    weights, steps = problem
    expected = _paper_rule(weights, steps)
    updated = _apply(PaperSGD(LR, momentum=MOMENTUM, coupled_weight_decay=DECAY), weights, steps)
    for got, want in zip(updated, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_sgd_weight_decay_is_decoupled_and_differs_from_the_paper(problem):
    # Why PaperSGD exists: Keras' weight_decay never enters the momentum.
    weights, steps = problem
    expected = _paper_rule(weights, steps)
    keras_sgd = keras.optimizers.SGD(LR, momentum=MOMENTUM, weight_decay=DECAY)
    keras_sgd.exclude_from_weight_decay(var_names=["bias"])
    kernel = _apply(keras_sgd, weights, steps)[0]
    assert np.abs(kernel - expected[0]).max() > 1e-3


def test_loss_scaling_leaves_the_update_unchanged(problem):
    weights, steps = problem
    scale = 1024.0
    scaled_steps = [[g * scale for g in gradients] for gradients in steps]
    optimizer = keras.optimizers.LossScaleOptimizer(
        PaperSGD(LR, momentum=MOMENTUM, coupled_weight_decay=DECAY), initial_scale=scale
    )
    updated = _apply(optimizer, weights, scaled_steps)
    for got, want in zip(updated, _paper_rule(weights, steps)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_paper_sgd_refuses_keras_decoupled_weight_decay():
    with pytest.raises(ValueError, match="coupled_weight_decay"):
        PaperSGD(weight_decay=0.0005)


def test_paper_sgd_round_trips_through_its_config():
    optimizer = PaperSGD(0.02, momentum=0.8, coupled_weight_decay=0.001)
    restored = PaperSGD.from_config(optimizer.get_config())
    assert (restored.coupled_weight_decay, restored.momentum) == (0.001, 0.8)
    assert float(restored.learning_rate) == pytest.approx(0.02)


def test_build_optimizer_uses_the_recipe_and_loss_scaling_for_float16():
    config = TrainConfig(data_dir="d", model_dir="m", learning_rate=0.03, weight_decay=0.001)
    optimizer = build_optimizer(config, steps_per_epoch=10)
    assert isinstance(optimizer, PaperSGD)
    assert (optimizer.momentum, optimizer.coupled_weight_decay) == (0.9, 0.001)
    half = build_optimizer(config.replace(dtype="float16"), steps_per_epoch=10)
    assert isinstance(half, keras.optimizers.LossScaleOptimizer)
    assert isinstance(half.inner_optimizer, PaperSGD)
    assert isinstance(build_optimizer(config.replace(dtype="bfloat16"), 10), PaperSGD)
