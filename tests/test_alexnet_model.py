"""The paper's network: sizes, tower structure, placement, precision, saving, derived models."""

import math

import numpy as np
import pytest
import keras
import tensorflow as tf

import alexnet_tf
from alexnet_tf.layers import LocalResponseNormalization, TowerStage
from alexnet_tf.models import pool5_size

PAPER_LAYER_PARAMETERS = {
    "conv1": 34_944,
    "conv2": 307_456,
    "conv3": 885_120,
    "conv4": 663_936,
    "conv5": 442_624,
    "fc6": 37_752_832,
    "fc7": 16_781_312,
    "fc8": 4_097_000,
}
PAPER_FEATURE_MAPS = {
    "conv1": (55, 55, 96),
    "conv2": (27, 27, 256),
    "conv3": (13, 13, 384),
    "conv4": (13, 13, 384),
    "conv5": (13, 13, 256),
    "pool5": (6, 6, 256),
}
SMALL = {"num_classes": 5, "width_multiplier": 0.0625, "input_size": 67}


def small_model(**overrides) -> keras.Model:
    return alexnet_tf.build_alexnet(**{**SMALL, **overrides})


def images(count: int, size: int, seed: int = 0) -> np.ndarray:
    """Mean-subtracted pixel values, the scale the network sees in training."""
    return np.random.default_rng(seed).uniform(-128, 128, (count, size, size, 3)).astype("float32")


def stage_outputs(model: keras.Model, names) -> keras.Model:
    """A model returning each named stage's output with the towers concatenated."""
    outputs = []
    for name in names:
        output = model.get_layer(name).output
        outputs.append(keras.layers.Concatenate()(output) if isinstance(output, list) else output)
    return keras.Model(model.inputs, outputs)


@pytest.fixture(scope="module")
def paper_model():
    return alexnet_tf.build_alexnet()


def test_parameter_count_is_the_papers(paper_model):
    assert paper_model.count_params() == 60_965_224
    assert {name: paper_model.get_layer(name).count_params() for name in PAPER_LAYER_PARAMETERS} == (
        PAPER_LAYER_PARAMETERS
    )


def test_one_tower_variant_has_full_connectivity_parameter_count():
    assert alexnet_tf.build_alexnet(towers=1).count_params() == 62_378_344


def test_feature_maps_have_the_papers_shapes(paper_model):
    probe = stage_outputs(paper_model, PAPER_FEATURE_MAPS)
    computed = probe.predict(images(1, 227), verbose=0)
    assert {name: out.shape[1:] for name, out in zip(PAPER_FEATURE_MAPS, computed)} == PAPER_FEATURE_MAPS
    assert paper_model.output_shape == (None, 1000)


def test_each_tower_holds_half_of_every_layer(paper_model):
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"):
        stage = paper_model.get_layer(name)
        first, second = (layer.kernel.shape for layer in stage.tower_layers)
        assert first == second
        assert 2 * first[-1] == PAPER_FEATURE_MAPS.get(name, (4096,))[-1]


@pytest.mark.parametrize(
    "stage, crosses",
    [("conv2", False), ("conv3", True), ("conv4", False), ("conv5", False), ("fc6", True), ("fc7", True)],
)
def test_towers_exchange_data_only_where_the_paper_does(stage, crosses):
    """Follows the computation graph: does tower 1's output depend on tower 2's input?"""
    model = small_model()
    layer = model.get_layer(stage)
    inputs = [
        tf.constant(np.random.default_rng(i).uniform(0, 1, (2, *tensor.shape[1:])).astype("float32"))
        for i, tensor in enumerate(layer.input)
    ]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
    for own in range(2):
        other = 1 - own
        own_gradient = tape.gradient(outputs[own], inputs[own])
        cross_gradient = tape.gradient(outputs[own], inputs[other])
        assert own_gradient is not None and np.any(own_gradient.numpy() != 0)
        if crosses:
            assert cross_gradient is not None and np.any(cross_gradient.numpy() != 0)
        else:
            assert cross_gradient is None


def test_both_towers_see_the_whole_image():
    model = small_model()
    conv1 = model.get_layer("conv1")
    x = tf.constant(images(1, 67))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        outputs = conv1(x)
    for output in outputs:
        assert np.any(tape.gradient(output, x).numpy() != 0, axis=(0, 1, 2)).all()  # all RGB
    assert conv1.tower_layers[0].kernel.shape[2] == 3


def test_tower_variables_and_ops_live_on_their_devices():
    devices = ("/CPU:0", "/CPU:1")
    assert len(tf.config.list_logical_devices("CPU")) >= 2
    model = small_model(tower_devices=devices)
    for variable in model.variables:
        for tower, device in enumerate(devices):
            if f"tower{tower + 1}" in variable.path:
                assert variable.value.device.endswith(device.replace("/", "device:"))

    @tf.function
    def forward_and_backward(x):
        loss = tf.reduce_sum(model(x, training=True))
        # tf.gradients places each gradient op with its forward op.
        return tf.gradients(loss, model.trainable_variables)

    graph = forward_and_backward.get_concrete_function(tf.TensorSpec((2, 67, 67, 3))).graph
    checked = {0: 0, 1: 0}
    for op in graph.get_operations():
        if op.type in ("Placeholder", "ReadVariableOp", "Const"):
            continue  # variable handles and reads sit with their variables, checked above
        for tower, device in enumerate(devices):
            if f"tower{tower + 1}" in op.name:
                assert op.device.upper().endswith(device[1:].upper()), (op.name, op.device)
                checked[tower] += 1
    assert min(checked.values()) > 50  # forward and backward ops of every stage


def test_variables_without_placement_default_to_one_device():
    model = small_model()
    assert len({variable.value.device for variable in model.trainable_variables}) == 1


def test_paper_initialization():
    model = alexnet_tf.build_alexnet(num_classes=10)
    bias_value = {"conv1": 0, "conv2": 1, "conv3": 0, "conv4": 1, "conv5": 1, "fc6": 1, "fc7": 1}
    for name, value in bias_value.items():
        for layer in model.get_layer(name).tower_layers:
            np.testing.assert_array_equal(layer.bias.numpy(), value)
    np.testing.assert_array_equal(model.get_layer("fc8").bias.numpy(), 0)
    kernel = model.get_layer("fc6").tower_layers[0].kernel.numpy()  # 18.9M draws
    assert abs(kernel.mean()) < 1e-4
    assert kernel.std() == pytest.approx(0.01, rel=0.01)


def test_dropout_halves_fc_units_only_in_training():
    model = small_model()
    fc6 = model.get_layer("fc6")
    x = [tf.ones((64, *tensor.shape[1:])) for tensor in fc6.input]
    inference = [t.numpy() for t in fc6(x, training=False)]
    np.testing.assert_array_equal(inference, [t.numpy() for t in fc6(x, training=False)])
    trained = [t.numpy() for t in fc6(x, training=True)]
    for kept, full in zip(trained, inference):
        dropped = kept == 0
        assert 0.4 < dropped.mean() < 0.6
        np.testing.assert_allclose(kept[~dropped], 2 * full[~dropped], rtol=1e-6)


def test_fc7_features_and_probabilities_agree_with_the_logits():
    model = small_model()
    x = images(3, 67, seed=1)
    features = alexnet_tf.feature_model(model).predict(x, verbose=0)
    assert features.shape == (3, 2 * model.get_layer("fc7").units)
    towers = stage_outputs(model, ["fc7"]).predict(x, verbose=0)
    np.testing.assert_array_equal(features, towers)
    fc8 = model.get_layer("fc8")
    logits = model.predict(x, verbose=0)
    np.testing.assert_allclose(logits, features @ fc8.kernel.numpy() + fc8.bias.numpy(), rtol=1e-5, atol=1e-6)
    probabilities = alexnet_tf.probability_model(model).predict(x, verbose=0)
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(1, keepdims=True), rtol=1e-5)


def test_paper_feature_model_is_4096_wide(paper_model):
    assert alexnet_tf.feature_model(paper_model).output_shape == (None, 4096)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_predicts_close_to_float32_with_float32_logits(policy, variance_preserving_weights):
    reference = small_model()
    reference.set_weights(variance_preserving_weights(reference))
    mixed = small_model(dtype=policy)
    mixed.set_weights(reference.get_weights())
    assert mixed.get_layer("conv2").tower_layers[0].compute_dtype == policy.split("_")[1]
    assert all(variable.dtype == "float32" for variable in mixed.trainable_variables)
    x = images(4, 67, seed=2)
    expected = reference.predict(x, verbose=0)
    got = mixed(x, training=False)
    assert got.dtype == "float32"
    assert np.abs(got.numpy() - expected).max() < 0.05 * expected.std()
    np.testing.assert_array_equal(got.numpy().argmax(1), expected.argmax(1))


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains(policy, variance_preserving_weights):
    model = small_model(dtype=policy, num_classes=3, dropout=0.0)
    model.set_weights(variance_preserving_weights(model))
    optimizer = keras.optimizers.SGD(0.0002, momentum=0.9)
    if policy == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    kernels = [w for w in model.trainable_variables if w.path.endswith("kernel")]
    before = [w.numpy() for w in kernels]
    history = model.fit(images(8, 67), np.arange(8) % 3, batch_size=8, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert all(not np.array_equal(b, w.numpy()) for b, w in zip(before, kernels))


@pytest.mark.parametrize("fmt", ["keras", "savedmodel"])
def test_save_and_reload_give_identical_outputs(tmp_path, fmt):
    model = small_model()
    x = images(2, 67, seed=3)
    expected = model.predict(x, verbose=0)
    if fmt == "keras":
        model.save(tmp_path / "model.keras")
        restored = keras.saving.load_model(tmp_path / "model.keras")
        got = restored.predict(x, verbose=0)
        assert restored.count_params() == model.count_params()
    else:
        model.export(tmp_path / "savedmodel", verbose=False)
        restored = tf.saved_model.load(str(tmp_path / "savedmodel"))
        got = restored.serve(x).numpy()
    np.testing.assert_array_equal(got, expected)


def test_config_round_trip_rebuilds_the_same_architecture():
    model = small_model(lrn="caffe", tower_devices=("/CPU:0", "/CPU:1"))
    clone = keras.Model.from_config(model.get_config())
    assert clone.count_params() == model.count_params()
    assert clone.get_layer("conv1").tower_devices == ("/CPU:0", "/CPU:1")
    norm = clone.get_layer("conv1").tower_norms[0]
    assert (norm.bias, norm.alpha) == (1.0, 2e-5)


def test_width_multiplier_and_input_size_scale_the_network():
    model = alexnet_tf.build_alexnet(num_classes=7, width_multiplier=0.25, input_size=131)
    assert model.input_shape == (None, 131, 131, 3)
    assert model.get_layer("conv1").tower_layers[0].filters == 12
    assert model.get_layer("fc6").units == 512
    pool = pool5_size(131)
    assert pool == 3 and model.get_layer("pool5").output[0].shape[1:3] == (pool, pool)
    assert model.predict(images(2, 131), verbose=0).shape == (2, 7)


@pytest.mark.parametrize("size, side", [(227, 6), (230, 6), (224, 5), (67, 1)])
def test_pool5_geometry(size, side):
    assert pool5_size(size) == side


def test_lrn_can_be_left_out_for_ablations():
    model = small_model(lrn=None)
    norms = [layer for layer in model._flatten_layers() if isinstance(layer, LocalResponseNormalization)]
    assert norms == []
    assert model.count_params() == small_model().count_params()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_size": 66}, "input_size=66"),
        ({"num_classes": 0}, "num_classes=0"),
        ({"towers": 3}, "towers=3"),
        ({"width_multiplier": 0}, "width_multiplier=0"),
        ({"lrn": "alexnet"}, "lrn='alexnet'"),
        ({"tower_devices": ("/CPU:0",)}, "tower_devices"),
    ],
)
def test_invalid_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_model(**kwargs)


def test_all_stages_are_tower_layers(paper_model):
    stages = [layer for layer in paper_model.layers if isinstance(layer, TowerStage)]
    assert [layer.name for layer in stages] == [
        "conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7",
    ]
    assert [layer.name for layer in stages if layer.crosses_towers] == ["conv3", "fc6", "fc7"]
    assert math.prod(paper_model.get_layer("fc6").tower_layers[0].kernel.shape) == 9216 * 2048
