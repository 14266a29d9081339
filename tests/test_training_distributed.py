"""Distributed training steps equal one-device steps; towers sit on their devices;
evaluation (centre and ten crops) is exact under a strategy; mixed precision steps.

Runs on the logical CPUs that tests/conftest.py creates ("/CPU:0" ... "/CPU:3").
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.models import build_alexnet
from alexnet_tf.training import Evaluator, PaperSGD, Trainer, check_batch_size, make_distribution

GLOBAL_BATCH = 8
TWO_CPUS = ("/CPU:0", "/CPU:1")
_rng = np.random.default_rng(0)
IMAGES = _rng.uniform(-100.0, 100.0, (GLOBAL_BATCH, 67, 67, 3)).astype("float32")
LABELS = _rng.integers(0, 4, GLOBAL_BATCH).astype("int32")


def _model(tower_devices=None, dtype=None) -> keras.Model:
    return build_alexnet(
        4, width_multiplier=0.0625, input_size=67, dropout=0.0, tower_devices=tower_devices, dtype=dtype
    )


@pytest.fixture(scope="module")
def reference_weights(variance_preserving_weights):
    """Weights whose gradients reach every layer (the paper's init barely moves a tiny net)."""
    return variance_preserving_weights(_model(), seed=1, bias=0.1)


def _batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
    """The global batch cut in order into per-replica batches: replica i gets slice i."""
    per_replica = context.get_per_replica_batch_size(GLOBAL_BATCH)
    return tf.data.Dataset.from_tensor_slices((IMAGES, LABELS)).batch(per_replica).repeat()


def _train(strategy, weights, *, steps=2, tower_devices=None, dtype=None, optimizer_fn=None):
    """Trains `steps` steps on the same global batch; returns (model, optimizer, per-step sums)."""
    with strategy.scope():
        model = _model(tower_devices, dtype)
        model.set_weights(weights)
        optimizer = (optimizer_fn or (lambda: PaperSGD(0.01)))()
        optimizer.build(model.trainable_variables)
    trainer = Trainer(model, optimizer, strategy, global_batch_size=GLOBAL_BATCH)
    iterator = iter(strategy.distribute_datasets_from_function(_batches))
    sums = [{key: float(value) for key, value in trainer.train_step(iterator).items()} for _ in range(steps)]
    return model, optimizer, sums


@pytest.fixture(scope="module")
def one_device(reference_weights):
    return _train(tf.distribute.get_strategy(), reference_weights)


def _assert_same_step(result, reference, initial, rtol=1e-4):
    model, _, sums = result
    ref_model, _, ref_sums = reference
    largest_update = max(np.abs(w - w0).max() for w, w0 in zip(ref_model.get_weights(), initial))
    assert largest_update > 1e-3  # the steps did change the weights
    for got, want, start in zip(model.get_weights(), ref_model.get_weights(), initial):
        # Compare the updates, which are what the strategy computes.
        np.testing.assert_allclose(got - start, want - start, rtol=rtol, atol=rtol * largest_update)
    for got, want in zip(sums, ref_sums):
        assert got == pytest.approx(want, rel=1e-4)


def test_mirrored_over_two_logical_cpus_equals_one_device(one_device, reference_weights):
    # Reducing through one device keeps this strategy out of the process's collective
    # groups, which an earlier 4-replica strategy (e.g. tests/test_demo.py) has keyed.
    strategy = tf.distribute.MirroredStrategy(
        list(TWO_CPUS), cross_device_ops=tf.distribute.ReductionToOneDevice()
    )
    mirrored = _train(strategy, reference_weights)
    _assert_same_step(mirrored, one_device, reference_weights)


def test_towers_on_two_logical_cpus_equal_one_device(one_device, reference_weights):
    towers = _train(tf.distribute.get_strategy(), reference_weights, tower_devices=TWO_CPUS)
    _assert_same_step(towers, one_device, reference_weights)


def test_tower_variables_and_their_momentum_live_on_their_tower_device(reference_weights):
    model, optimizer, _ = _train(tf.distribute.get_strategy(), reference_weights, steps=1, tower_devices=TWO_CPUS)
    momentum = {v.path.split("/")[-1]: v for v in optimizer.variables}
    checked = 0
    for stage in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"):
        for tower, sublayer in enumerate(model.get_layer(stage).tower_layers):
            for variable in sublayer.trainable_variables:
                assert variable.value.device.endswith(f"CPU:{tower}"), variable.path
                slot = momentum[f"{variable.path.replace('/', '_')}_momentum"]
                assert slot.value.device.endswith(f"CPU:{tower}"), slot.path
                checked += 1
    assert checked == 28


def test_towers_forward_and_backward_ops_run_on_their_tower_device(reference_weights):
    strategy = tf.distribute.get_strategy()
    with strategy.scope():
        model = _model(TWO_CPUS)
        optimizer = PaperSGD(0.01)
        optimizer.build(model.trainable_variables)
    trainer = Trainer(model, optimizer, strategy, global_batch_size=GLOBAL_BATCH)
    iterator = iter(strategy.distribute_datasets_from_function(_batches))
    graph = trainer._train_step.get_concrete_function(iterator).graph
    placed = {0: set(), 1: set()}
    for op in graph.get_operations():
        if op.type in ("Placeholder", "ReadVariableOp", "Const"):
            continue  # variable handles and reads sit with their variables
        for tower in (0, 1):
            if f"tower{tower + 1}" in op.name:
                assert op.device.endswith(f"CPU:{tower}"), (op.name, op.device)
                placed[tower].add(op.type)
    for types in placed.values():
        assert {"Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"} <= types


def test_a_step_matches_keras_own_training_step(reference_weights):
    # The loop's loss, gradients and update are Keras' (no weight decay to compare).
    model, _, _ = _train(
        tf.distribute.get_strategy(), reference_weights, steps=1,
        optimizer_fn=lambda: PaperSGD(0.01, coupled_weight_decay=0.0),
    )
    keras_model = _model()
    keras_model.set_weights(reference_weights)
    keras_model.compile(
        keras.optimizers.SGD(0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    keras_model.train_on_batch(IMAGES, LABELS)
    for got, want in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_steps_follow_the_float32_step(reference_weights, dtype):
    def optimizer_fn():
        if dtype == "mixed_float16":  # a scale that does not overflow on the first step
            return keras.optimizers.LossScaleOptimizer(PaperSGD(0.01), initial_scale=256.0)
        return PaperSGD(0.01)

    model, _, _ = _train(tf.distribute.get_strategy(), reference_weights, steps=1, dtype=dtype, optimizer_fn=optimizer_fn)
    ref_model = _train(tf.distribute.get_strategy(), reference_weights, steps=1)[0]
    assert model.get_layer("conv1").tower_layers[0].kernel.dtype == "float32"
    for got, want, start, variable in zip(model.get_weights(), ref_model.get_weights(), reference_weights, model.weights):
        update, reference_update = (got - start).ravel(), (want - start).ravel()
        # The same direction and size as the float32 update, up to rounding (an update
        # that skipped unscaling would be 256 times larger).
        norms = np.linalg.norm(update), np.linalg.norm(reference_update)
        assert update @ reference_update >= 0.95 * norms[0] * norms[1], variable.path
        assert 0.85 <= norms[0] / norms[1] <= 1.15, variable.path


def _numpy_metrics(probabilities, labels):
    ranks = np.argsort(-probabilities, axis=1)
    return {
        "loss": float(np.mean(-np.log(probabilities[np.arange(len(labels)), labels]))),
        "top1_error": float(np.mean(ranks[:, 0] != labels)),
        "top5_error": float(np.mean([label not in row[:5] for row, label in zip(ranks, labels)])),
    }


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("strategy_devices", [None, list(TWO_CPUS)])
def test_ten_crop_evaluation_averages_the_softmax_of_the_crops(reference_weights, strategy_devices):
    rng = np.random.default_rng(2)
    # 10 images, 10 crops each, 7 classes so that top-5 is not trivial; batches 4, 4, 2.
    crops = rng.uniform(-100, 100, (10, 10, 67, 67, 3)).astype("float32")
    labels = rng.integers(0, 7, 10).astype("int32")
    strategy = tf.distribute.MirroredStrategy(strategy_devices) if strategy_devices else tf.distribute.get_strategy()
    with strategy.scope():
        keras.utils.set_random_seed(3)
        model = build_alexnet(7, width_multiplier=0.0625, input_size=67)
        for weight in model.trainable_weights:  # spread the logits so crops disagree
            weight.assign(weight.numpy() * (4.0 if len(weight.shape) > 1 else 1.0))

    def dataset_fn(context):
        per_replica = max(1, 4 // context.num_replicas_in_sync)
        return tf.data.Dataset.from_tensor_slices((crops, labels)).batch(per_replica)

    result = Evaluator(model, strategy).evaluate(dataset_fn)
    logits = model.predict(crops.reshape(-1, 67, 67, 3), verbose=0).reshape(10, 10, 7)
    expected = _numpy_metrics(_softmax(logits).mean(axis=1), labels)
    assert result["examples"] == 10
    for key, value in expected.items():
        assert result[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    assert 0.0 < expected["top1_error"] < 1.0 and expected["top5_error"] < expected["top1_error"]


def test_batch_size_must_split_evenly_over_replicas():
    distribution = make_distribution("auto")  # mirrored over the conftest's logical CPUs
    replicas = distribution.num_replicas
    assert replicas > 1
    assert check_batch_size(8 * replicas, distribution) == 8
    with pytest.raises(ValueError, match=f"Received: batch_size={8 * replicas + 1}"):
        check_batch_size(8 * replicas + 1, distribution)
