"""Kill tools/train.py with SIGKILL after a checkpoint, run the same command again: it goes
on from that epoch and step, with the learning-rate schedule's state intact, and ends
where an uninterrupted run ends."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

ROOT = Path(__file__).resolve().parents[1]
EPOCHS, STEPS = 4, 8  # 128 training images in batches of 16
SAVED = re.compile(r"Saved checkpoint \S+ \(epochs completed: (\d+), step: (\d+)\)")


def _command(data_dir: Path, model_dir: Path) -> list[str]:
    # Plateau settings under which every epoch after the first is a plateau, so the
    # learning rate is divided at the end of epochs 2 and 3 (1-based) and then, the
    # reductions used up, stays: 0.01, 0.01, 0.001, 0.0001.
    return [
        sys.executable, str(ROOT / "tools" / "train.py"),
        "--data-dir", str(data_dir), "--model-dir", str(model_dir),
        "--width-multiplier", "0.0625", "--image-size", "72", "--crop-size", "67",
        "--batch-size", "16", "--epochs", str(EPOCHS), "--checkpoint-steps", "3",
        "--plateau-patience", "1", "--plateau-min-delta", "1.0", "--max-reductions", "2",
        "--seed", "5", "--verbose", "0",
    ]


def _start(command: list[str]) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def _checkpoint_value(model_dir: Path, name: str):
    path = tf.train.latest_checkpoint(str(model_dir / "checkpoints"))
    return tf.train.load_variable(path, f"{name}/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.slow
def test_sigkill_then_the_same_command_resumes_at_the_checkpoint(learnable_image_dir, tmp_path):
    model_dir = tmp_path / "run"
    command = _command(learnable_image_dir, model_dir)

    first = _start(command)
    log = []
    for line in first.stderr:
        log.append(line)
        saved = SAVED.search(line)
        if saved and int(saved[1]) == 2 and int(saved[2]) > 0:  # inside the third epoch
            first.send_signal(signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "".join(log)

    # Where the last complete checkpoint stands (the process may have saved another).
    epoch = int(_checkpoint_value(model_dir, "progress/epoch"))
    step = int(_checkpoint_value(model_dir, "progress/step"))
    assert epoch == 2 and 0 < step < STEPS
    # optimizer.variables: iteration, learning_rate, the momentums.
    assert float(_checkpoint_value(model_dir, "optimizer/1")) == pytest.approx(0.001)

    second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert second.returncode == 0, second.stderr
    assert f"Resuming epoch {epoch + 1} at step {step} of {STEPS}." in second.stderr

    # Every step ran exactly once over the two processes.
    assert int(_checkpoint_value(model_dir, "optimizer/0")) == EPOCHS * STEPS
    assert int(_checkpoint_value(model_dir, "progress/epoch")) == EPOCHS
    # The plateau state went on from the checkpoint: two reductions, then no more.
    assert int(_checkpoint_value(model_dir, "schedule_0/reductions")) == 2
    history = json.loads((model_dir / "history" / "history.json").read_text())
    assert [record["epoch"] for record in history] == list(range(EPOCHS))
    rates = [record["learning_rate"] for record in history]
    assert rates == pytest.approx([0.01, 0.01, 0.001, 0.0001])
    assert (model_dir / "model.keras").is_file()

    # And it is the run an uninterrupted process makes (training here is deterministic):
    # the skipped batches, the dropout and augmentation streams, the epoch's running sums
    # and the schedule all went on where they stood.
    reference_dir = tmp_path / "uninterrupted"
    reference = subprocess.run(_command(learnable_image_dir, reference_dir), cwd=ROOT, capture_output=True,
                               text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert reference.returncode == 0, reference.stderr
    expected = json.loads((reference_dir / "history" / "history.json").read_text())
    for got, want in zip(history, expected):
        assert got == pytest.approx(want, rel=1e-5), got["epoch"]


@pytest.mark.slow
def test_sigterm_saves_the_step_it_stopped_at(learnable_image_dir, tmp_path):
    model_dir = tmp_path / "run"
    command = _command(learnable_image_dir, model_dir)
    command[command.index("--checkpoint-steps") + 1] = "5"
    process = _start(command)
    log = []
    for line in process.stderr:
        log.append(line)
        if SAVED.search(line):  # step 5 of 8: the loop goes on with step 6 now
            process.send_signal(signal.SIGTERM)
            break
    log += process.stderr.readlines()
    process.wait(timeout=60)
    assert process.returncode == 130, "".join(log)
    saved = [SAVED.search(line) for line in log if SAVED.search(line)]
    assert len(saved) == 2, "".join(log)  # the periodic one, and one on the signal
    epoch, step = int(saved[-1][1]), int(saved[-1][2])
    assert epoch == 0 and 5 <= step <= STEPS  # where the signal found the loop
    assert int(_checkpoint_value(model_dir, "progress/epoch")) == epoch
    assert int(_checkpoint_value(model_dir, "progress/step")) == step
    # The saved progress agrees with the optimizer's own count of the steps it applied.
    assert int(_checkpoint_value(model_dir, "optimizer/0")) == step
    assert "re-run the same command to resume" in "".join(log)
