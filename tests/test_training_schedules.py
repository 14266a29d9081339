"""Learning-rate schedules: the paper's plateau reductions (and their checkpointed state),
step and cosine decay."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from alexnet_tf.training import PaperSGD, ReduceOnPlateau, TrainConfig, learning_rate_schedule
from alexnet_tf.training.schedules import current_learning_rate

# Validation errors of 12 epochs: improvements, then plateaus.
ERRORS = [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


def _plateau(**kwargs):
    optimizer = PaperSGD(0.01)
    optimizer.build([keras.Variable(np.zeros((2, 2), "float32"))])
    return optimizer, ReduceOnPlateau(optimizer, **kwargs)


def _run(callback, optimizer, errors, first_epoch=0):
    rates = []
    for epoch, error in enumerate(errors, start=first_epoch):
        rates.append(current_learning_rate(optimizer))
        callback.on_epoch_end(epoch, {"val_top1_error": error})
    return rates


def test_plateau_divides_by_ten_after_patience_and_at_most_max_reductions():
    optimizer, callback = _plateau(patience=2, min_delta=0.001, max_reductions=3)
    rates = _run(callback, optimizer, ERRORS)
    # Epoch 3 is the second without improvement (reduce), epoch 4 improves, 6 and 8 are
    # the ends of two more plateaus; the fourth plateau (epoch 10) is past the limit.
    expected = [0.01] * 4 + [0.001] * 3 + [1e-4] * 2 + [1e-5] * 3
    np.testing.assert_allclose(rates, expected, rtol=1e-5)
    assert int(callback.state.reductions) == 3


def test_plateau_state_survives_a_checkpoint_and_gives_the_same_decisions(tmp_path):
    optimizer, callback = _plateau(patience=2, max_reductions=3)
    uninterrupted = _run(callback, optimizer, ERRORS)

    optimizer, callback = _plateau(patience=2, max_reductions=3)
    first = _run(callback, optimizer, ERRORS[:6])
    path = tf.train.Checkpoint(optimizer=optimizer, plateau=callback.state).save(str(tmp_path / "ckpt"))

    optimizer, callback = _plateau(patience=2, max_reductions=3)
    tf.train.Checkpoint(optimizer=optimizer, plateau=callback.state).restore(path).assert_existing_objects_matched()
    second = _run(callback, optimizer, ERRORS[6:], first_epoch=6)
    np.testing.assert_allclose(first + second, uninterrupted, rtol=1e-6)


def test_plateau_needs_its_monitored_log():
    optimizer, callback = _plateau()
    with pytest.raises(KeyError, match="val_top1_error"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_step_schedule_divides_every_step_epochs():
    config = TrainConfig(data_dir="d", model_dir="m", schedule="step", step_epochs=30, epochs=90)
    schedule = learning_rate_schedule(config, steps_per_epoch=100)
    rates = [float(schedule(step)) for step in (0, 2999, 3000, 5999, 6000, 8999)]
    np.testing.assert_allclose(rates, [0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4], rtol=1e-5)


def test_cosine_schedule_warms_up_then_decays_to_zero():
    config = TrainConfig(data_dir="d", model_dir="m", schedule="cosine", epochs=10, warmup_epochs=2)
    schedule = learning_rate_schedule(config, steps_per_epoch=10)
    assert float(schedule(0)) == pytest.approx(0.0)
    assert float(schedule(10)) == pytest.approx(0.005, rel=1e-4)
    assert float(schedule(20)) == pytest.approx(0.01, rel=1e-4)
    assert float(schedule(60)) == pytest.approx(0.005, rel=1e-3)
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-7)


def test_plateau_schedule_needs_a_validation_split():
    with pytest.raises(ValueError, match="validation"):
        TrainConfig(data_dir="d", model_dir="m", validation_split=None)
