"""Two worker processes on 127.0.0.1 train with MultiWorkerMirroredStrategy and end with
identical weights; the chief alone writes the model directory.

Each worker runs this file as a program (see `worker_main`) with its own TF_CONFIG.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2


def worker_main(data_dir: str, model_dir: str, output: str) -> None:
    """Trains two epochs with the multiworker strategy, then saves the weights it ends with."""
    from alexnet_tf.training import TrainConfig, prepare_training

    run = prepare_training(
        TrainConfig(
            data_dir=data_dir, model_dir=model_dir, strategy="multiworker", width_multiplier=0.0625,
            image_size=72, crop_size=67, batch_size=16, epochs=2, checkpoint_steps=5, seed=11,
            learning_rate=0.001,
        )
    )
    initial = run.model.get_weights()
    run.fit(verbose=0)
    final = run.model.get_weights()
    np.savez(output, *final, changed=max(np.abs(a - b).max() for a, b in zip(final, initial)),
             val_examples=run.history[-1]["val_examples"], is_chief=run.distribution.is_chief)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_end_with_identical_weights(learnable_image_dir, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(WORKERS)]}
    model_dir = tmp_path / "run"
    workers = []
    for index in range(WORKERS):
        env = {
            **os.environ,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
        }
        command = [sys.executable, __file__, str(learnable_image_dir), str(model_dir), str(tmp_path / f"worker{index}.npz")]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    logs = []
    for worker in workers:
        try:
            logs.append(worker.communicate(timeout=300)[0])
        finally:
            worker.kill()
    assert [worker.returncode for worker in workers] == [0] * WORKERS, "\n".join(logs)

    results = [np.load(tmp_path / f"worker{index}.npz") for index in range(WORKERS)]
    weights = [[result[f"arr_{i}"] for i in range(len(result.files) - 3)] for result in results]
    assert len(weights[0]) == 30
    for ours, theirs in zip(*weights):
        np.testing.assert_array_equal(ours, theirs)
    assert all(float(result["changed"]) > 1e-4 for result in results)  # they did train
    assert [bool(result["is_chief"]) for result in results] == [True, False]
    assert all(int(result["val_examples"]) == 32 for result in results)  # each sees all of val

    history = json.loads((model_dir / "history" / "history.json").read_text())
    assert [record["epoch"] for record in history] == [0, 1]
    assert (model_dir / "model.keras").is_file()
    # Only the chief wrote: checkpoints of 16 steps saved every 5 steps and per epoch.
    checkpoint_state = (model_dir / "checkpoints" / "checkpoint").read_text()
    assert "ckpt-" in checkpoint_state
    assert sorted(path.name for path in model_dir.iterdir()) == [
        "checkpoints", "classes.txt", "config.json", "dataset_stats.json", "history", "labels.txt",
        "model.keras", "tensorboard",
    ]


if __name__ == "__main__":
    worker_main(*sys.argv[1:])
