"""Choosing the `tf.distribute` strategy and the devices of the paper's two towers.

- `"auto"`: `tf.distribute.MirroredStrategy` over all local devices when there are
  several (GPUs, or on a machine without GPUs the logical CPUs of `--virtual-devices`),
  the default strategy on one device otherwise.
- `"towers"`: the paper's model parallelism: one replica, tower 1's weights and ops on
  the first device and tower 2's on the second (`build_alexnet(tower_devices=...)`).
- `"multiworker"`: `tf.distribute.MultiWorkerMirroredStrategy` over the processes named
  in the `TF_CONFIG` environment variable, each using its local devices.

The CPU must be split into logical devices (`configure_virtual_devices`), and a
multi-worker strategy created, before TensorFlow runs its first operation.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import tensorflow as tf

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Distribution:
    """A strategy and how the model is laid out on it.

    Args:
        name: str. `"auto"`, `"towers"` or `"multiworker"`.
        strategy: tf.distribute.Strategy. Build the model and optimizer in its scope.
        devices: tuple of str. The local devices the replicas (or towers) run on.
        tower_devices: tuple of str, or None. One device per tower for the towers
            strategy; None otherwise.
        is_chief: bool. Whether this process writes the outputs (one process of a
            multi-worker cluster; always True otherwise).
    """

    name: str
    strategy: tf.distribute.Strategy
    devices: tuple[str, ...]
    tower_devices: tuple[str, ...] | None = None
    is_chief: bool = True

    @property
    def num_replicas(self) -> int:
        """Model replicas that each take an equal share of a global batch."""
        return self.strategy.num_replicas_in_sync

    @property
    def is_multi_worker(self) -> bool:
        """Whether several processes train together."""
        return isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def describe(self) -> str:
        """A one-line description for logs."""
        if self.tower_devices:
            return f"towers on {', '.join(self.tower_devices)} (one replica)"
        return f"{self.name}: {self.num_replicas} replica(s) on {', '.join(self.devices)}"


def configure_virtual_devices(count: int) -> None:
    """Splits the (first) CPU into `count` logical devices; 0 leaves it whole.

    Must run before TensorFlow initializes its devices; calling it again with the count
    already configured does nothing.

    Args:
        count: int. Number of logical CPU devices, or 0.

    Raises:
        RuntimeError: when TensorFlow's devices are already initialized differently.
    """
    if not count:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise RuntimeError(
            "The CPU can only be split into logical devices before TensorFlow initializes "
            "its devices; configure them at the start of the program. "
            f"Received: virtual_devices={count}"
        ) from error


def local_devices() -> list[str]:
    """The devices that replicas or towers go on: all GPUs, or else all logical CPUs."""
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [device.name for device in devices]


def make_distribution(name: str) -> Distribution:
    """Creates the strategy named `name` (see the module docstring).

    Args:
        name: str. `"auto"`, `"towers"` or `"multiworker"`.

    Raises:
        ValueError: for the towers strategy with fewer than two devices, or the
            multi-worker strategy without a `TF_CONFIG` naming a cluster.
    """
    if name == "multiworker":
        return _multi_worker()
    devices = local_devices()
    if name == "towers":
        if len(devices) < 2:
            raise ValueError(
                "The towers strategy puts the two towers on two devices, but only "
                f"{len(devices)} is available ({devices}). On a machine without two GPUs "
                "split the CPU with --virtual-devices 2. Received: strategy='towers'"
            )
        if len(devices) > 2:
            logger.warning(
                "The towers strategy uses the first two of %d devices (%s); the others stay "
                "idle. Use --strategy auto for data parallelism over all of them.",
                len(devices), ", ".join(devices),
            )
        towers = tuple(devices[:2])
        return Distribution(name, tf.distribute.get_strategy(), towers, tower_devices=towers)
    if name != "auto":
        raise ValueError(
            f"`strategy` must be 'auto', 'towers' or 'multiworker'. Received: strategy={name!r}"
        )
    if len(devices) > 1:
        return Distribution(name, tf.distribute.MirroredStrategy(devices), tuple(devices))
    return Distribution(name, tf.distribute.get_strategy(), tuple(devices))


def check_batch_size(batch_size: int, distribution: Distribution) -> int:
    """Returns the per-replica batch size, or raises if the batch does not split evenly.

    Args:
        batch_size: int. The global batch size.
        distribution: Distribution. Supplies the number of replicas.
    """
    replicas = distribution.num_replicas
    if batch_size % replicas:
        raise ValueError(
            f"The global batch size must be divisible by the {replicas} replicas of the "
            f"{distribution.name} strategy, so every replica gets an equal share. "
            f"Received: batch_size={batch_size}"
        )
    return batch_size // replicas


def _multi_worker() -> Distribution:
    tf_config = os.environ.get("TF_CONFIG")
    if not tf_config:
        raise ValueError(
            "The multiworker strategy reads the cluster from the TF_CONFIG environment "
            "variable, e.g. '{\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
            "\"task\": {\"type\": \"worker\", \"index\": 0}}'. Received: TF_CONFIG unset"
        )
    try:
        cluster = json.loads(tf_config)
        workers, task = cluster["cluster"]["worker"], cluster["task"]
        valid = isinstance(workers, list) and isinstance(task["index"], int)
    except (json.JSONDecodeError, KeyError, TypeError):
        valid = False
    if not valid:
        raise ValueError(
            "TF_CONFIG must be JSON with cluster.worker (a list of host:port) and "
            f"task.type/task.index. Received: TF_CONFIG={tf_config!r}"
        )
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    is_chief = bool(strategy.extended.should_checkpoint)
    logger.info(
        "Multi-worker training: task %s/%s of %d workers%s.",
        strategy.cluster_resolver.task_type, strategy.cluster_resolver.task_id,
        len(workers), " (chief: writes the outputs)" if is_chief else "",
    )
    return Distribution(
        "multiworker", strategy, tuple(strategy.extended.worker_devices), is_chief=is_chief
    )
