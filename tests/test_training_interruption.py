"""SIGINT and SIGTERM stop a training run between steps with a checkpoint; the same run
prepared again resumes there. (tests/test_training_resume.py sends the signals to the
`tools/train.py` process, and SIGKILL.)"""

import os
import signal

import keras
import pytest
import tensorflow as tf

from alexnet_tf.training import StopSignals, TrainConfig, TrainingInterrupted, prepare_training
from alexnet_tf.training.interruption import StopRequested

EPOCHS, STEPS = 2, 8  # 128 training images in batches of 16


def test_the_first_signal_is_a_request_and_the_second_stops_at_once():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals() as stop:
        stop.check()  # nothing received yet
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.received == "SIGTERM"  # recorded, nothing raised
        with pytest.raises(StopRequested, match="SIGTERM"):
            stop.check()
        with pytest.raises(KeyboardInterrupt, match="second stop signal"):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class SignalAtStep(keras.callbacks.Callback):
    """Sends `signum` to this process when the training step with index `step` (0-based,
    over the whole run) has finished."""

    def __init__(self, signum: int, step: int, steps_per_epoch: int):
        super().__init__()
        self.signum, self.step, self.steps_per_epoch = signum, step, steps_per_epoch
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch * self.steps_per_epoch + batch == self.step:
            os.kill(os.getpid(), self.signum)


def _config(data_dir, model_dir) -> TrainConfig:
    return TrainConfig(
        data_dir=str(data_dir), model_dir=str(model_dir), width_multiplier=0.0625,
        image_size=72, crop_size=67, batch_size=16, epochs=EPOCHS, schedule="cosine",
        validation_split=None, checkpoint_steps=0, seed=3,
        # Two of the conftest's logical CPUs without collectives: `auto` would mirror over
        # all four, and mirrored strategies over different device sets in one process
        # clash on their collectives' group keys.
        strategy="towers",
    )


@pytest.mark.parametrize("signum, step", [(signal.SIGTERM, 2), (signal.SIGINT, STEPS + 4)])
def test_a_signal_stops_after_the_step_and_the_run_resumes_there(learnable_image_dir, tmp_path, signum, step):
    config = _config(learnable_image_dir, tmp_path / "run")
    run = prepare_training(config)
    run.callbacks.append(SignalAtStep(signum, step, STEPS))
    with pytest.raises(TrainingInterrupted) as interrupted:
        run.fit(verbose=0)
    assert interrupted.value.signal_name == signal.Signals(signum).name
    # The step during which the signal came was finished and saved, and nothing after it.
    assert interrupted.value.checkpoint == tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert int(run.trainer.optimizer.iterations.numpy()) == step + 1
    epoch, step_in_epoch = divmod(step + 1, STEPS)
    assert (int(run.trainer.progress.epoch.numpy()), int(run.trainer.progress.step.numpy())) == (epoch, step_in_epoch)
    # The process's own handlers are back once training stopped.
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

    resumed = prepare_training(config)
    assert int(resumed.trainer.progress.epoch.numpy()) == epoch
    assert int(resumed.trainer.progress.step.numpy()) == step_in_epoch
    resumed.fit(verbose=0)
    assert int(resumed.trainer.optimizer.iterations.numpy()) == EPOCHS * STEPS


def test_without_signal_handling_a_signal_keeps_its_usual_effect(learnable_image_dir, tmp_path):
    run = prepare_training(_config(learnable_image_dir, tmp_path / "run"))
    run.callbacks.append(SignalAtStep(signal.SIGINT, 1, STEPS))
    with pytest.raises(KeyboardInterrupt):
        run.fit(verbose=0, stop_on_signals=False)
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints")) is None
