"""Serving against the real tritonserver: one server for the whole session, two versions.

The session's repository holds a scaled-down AlexNet exported twice (different
weights), served with `version_policy: all`; the served outputs are compared with the
in-process SavedModels over gRPC and HTTP.
"""

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as grpcclient_aio
from tritonclient.utils import InferenceServerException

from alexnet_tf.data.stats import DatasetStats
from alexnet_tf.export import (
    SIGNATURE_ENCODED,
    SIGNATURE_IMAGES,
    ServingConfig,
    export_to_triton,
)
from serving import protocol
from serving.batch import classify_files
from serving.client import AlexNetClient
from serving.installation import TritonNotFoundError, find_triton
from serving.server import PortInUseError, TritonServer
from tools import classify as classify_tool

pytestmark = pytest.mark.slow

LABELS = ["cat", "dog", "car", "ship", "tree"]
STATS = DatasetStats(
    mean_rgb=(100.0, 120.0, 80.0),
    eigenvalues=(0.2, 0.02, 0.005),
    eigenvectors=((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
)
SIZE = 67
# Long enough that requests sent together are batched together.
QUEUE_DELAY_US = 200_000
ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Served:
    server: TritonServer
    repository: Path
    savedmodels: dict  # version number -> loaded SavedModel
    version_1_digest: str

    def url(self, protocol_name: str) -> str:
        return self.server.grpc_url if protocol_name == "grpc" else self.server.http_url


@pytest.fixture(scope="session")
def served(tmp_path_factory, discriminative_alexnet, tree_digest):
    repository = tmp_path_factory.mktemp("triton") / "repository"
    serving = ServingConfig(
        max_batch_size=16, max_queue_delay_microseconds=QUEUE_DELAY_US, version_policy="all"
    )
    versions = {}
    for seed in (0, 1):
        path = export_to_triton(
            discriminative_alexnet(seed=seed), repository, labels=LABELS, stats=STATS,
            serving=serving,
        )
        versions[int(path.name)] = path
        if path.name == "1":
            digest = tree_digest(path)
    savedmodels = {v: tf.saved_model.load(str(p / "model.savedmodel")) for v, p in versions.items()}
    with TritonServer(repository, http_port=0, grpc_port=0, metrics_port=0) as server:
        yield Served(server, repository, savedmodels, digest)


def run(coroutine):
    return asyncio.run(coroutine)


async def call(served, protocol_name, method, *args, version="", **kwargs):
    async with AlexNetClient(
        served.url(protocol_name), protocol=protocol_name, model_version=version
    ) as client:
        return await getattr(client, method)(*args, **kwargs)


def in_process(served, images, version=2):
    """The in-process SavedModel's outputs for encoded bytes or a float array."""
    signatures = served.savedmodels[version].signatures
    if isinstance(images, np.ndarray):
        return signatures[SIGNATURE_IMAGES](images=tf.constant(images))
    return signatures[SIGNATURE_ENCODED](encoded=tf.constant(images))


def float_images(count, seed):
    return np.random.default_rng(seed).normal(0, 60, (count, SIZE, SIZE, 3)).astype("float32")


@pytest.fixture
def jpegs(encode_image):
    rng = np.random.default_rng(0)
    return [
        encode_image(rng.integers(0, 256, (60 + 10 * i, 90 - 5 * i, 3), dtype=np.uint8), "JPEG")
        for i in range(4)
    ]


@pytest.mark.parametrize("protocol_name", ["grpc", "http"])
@pytest.mark.parametrize("kind", ["bytes", "tensors"])
def test_served_outputs_equal_the_in_process_savedmodel(served, jpegs, protocol_name, kind):
    images = jpegs if kind == "bytes" else float_images(3, seed=7)
    expected = in_process(served, images)
    probabilities = run(call(served, protocol_name, "probabilities", images))
    features = run(call(served, protocol_name, "features", images))
    np.testing.assert_allclose(probabilities, expected["probabilities"], atol=1e-5)
    np.testing.assert_allclose(features, expected["features"], rtol=1e-4, atol=1e-4)
    # The images differ, so must their outputs.
    assert np.abs(probabilities[0] - probabilities[1]).max() > 1e-3


@pytest.mark.parametrize("protocol_name", ["grpc", "http"])
def test_top_k_labels_come_from_the_labels_file(served, jpegs, protocol_name):
    expected = in_process(served, jpegs)["probabilities"].numpy()
    top = run(call(served, protocol_name, "classify", jpegs, top_k=3))
    assert len(top) == len(jpegs)
    for classes, row in zip(top, expected):
        order = np.argsort(-row)[:3]
        assert [c.index for c in classes] == list(order)
        assert [c.label for c in classes] == [LABELS[i] for i in order]
        np.testing.assert_allclose([c.probability for c in classes], row[order], atol=1e-5)


def test_bad_requests_in_a_dynamic_batch_fail_alone(served, jpegs):
    good = [[jpegs[0]], [jpegs[1], jpegs[2]], [jpegs[3]]]
    bad = {
        "undecodable": [b"this is not an image"],
        "truncated": [jpegs[0][: len(jpegs[0]) // 3]],
        "empty": [b""],
        "one bad image among good ones": [jpegs[1], b"GIF89a broken"],
    }

    async def scenario():
        async with AlexNetClient(served.server.grpc_url) as client, \
                grpcclient_aio.InferenceServerClient(served.server.grpc_url) as raw:
            before = await _statistics(raw)
            outcomes = await asyncio.gather(
                *(client.probabilities(images) for images in [*good, *bad.values()]),
                return_exceptions=True,
            )
            return outcomes, before, await _statistics(raw), await raw.is_server_ready()

    outcomes, before, after, ready = run(scenario())
    for images, outcome in zip(good, outcomes[: len(good)]):
        np.testing.assert_allclose(outcome, in_process(served, images)["probabilities"], atol=1e-5)
    for name, outcome in zip(bad, outcomes[len(good):]):
        assert isinstance(outcome, InferenceServerException), name
        assert "INVALID_ARG" in str(outcome.status()), name
    assert "empty" in str(outcomes[len(good) + 2])
    assert ready
    # The model ran fewer times than it got requests: they were batched together.
    assert after["execution_count"] - before["execution_count"] < len(outcomes)


async def _statistics(client) -> dict:
    stats = await client.get_inference_statistics("alexnet", "2", as_json=True)
    model = stats["model_stats"][0]
    return {key: int(model.get(key, 0)) for key in ("inference_count", "execution_count")}


@pytest.mark.parametrize("protocol_name", ["grpc", "http"])
def test_shared_memory_inputs_give_the_same_outputs_and_are_freed(served, protocol_name):
    batches = [float_images(count, seed=count) for count in (2, 3, 1)]

    async def scenario():
        async with AlexNetClient(served.url(protocol_name), protocol=protocol_name,
                                 shared_memory=True) as client:
            outputs = await asyncio.gather(*(client.probabilities(b) for b in batches))
            again = await client.probabilities(batches[0])
            registered = await _shared_memory_regions(served)
        return outputs, again, registered, await _shared_memory_regions(served)

    outputs, again, registered, remaining = run(scenario())
    for batch, output in zip(batches, outputs):
        np.testing.assert_allclose(output, in_process(served, batch)["probabilities"], atol=1e-5)
    np.testing.assert_array_equal(again, outputs[0])
    assert len(registered) == len(batches)  # one region per request in flight, then reused
    assert remaining == []


async def _shared_memory_regions(served) -> list:
    """Names of the system shared memory regions registered with the server."""
    async with grpcclient_aio.InferenceServerClient(served.server.grpc_url) as client:
        status = await client.get_system_shared_memory_status(as_json=True)
    return sorted(status.get("regions", {}))


def test_wrong_shape_or_dtype_is_rejected_and_the_server_stays_ready(served):
    async def scenario():
        async with AlexNetClient(served.server.grpc_url) as client:
            with pytest.raises(InferenceServerException, match="unexpected shape"):
                await client.probabilities(float_images(1, seed=0)[:, :60])
        async with grpcclient_aio.InferenceServerClient(served.server.grpc_url) as raw:
            tensor = grpcclient.InferInput(protocol.IMAGES, [1, SIZE, SIZE, 3], "FP64")
            tensor.set_data_from_numpy(np.zeros((1, SIZE, SIZE, 3)))
            with pytest.raises(InferenceServerException, match="FP64"):
                await raw.infer("alexnet", [tensor])
            return await raw.is_server_ready()

    assert run(scenario())


def test_version_2_is_served_while_version_1_is_unchanged(served, jpegs, tree_digest):
    assert tree_digest(served.repository / "alexnet" / "1") == served.version_1_digest
    info = run(call(served, "grpc", "wait_until_ready", timeout=10))
    assert info.versions == ("1", "2") and info.num_classes == 5 and info.image_size == SIZE
    outputs = {
        version: run(call(served, "grpc", "probabilities", jpegs, version=version))
        for version in ("1", "2", "")
    }
    for version in (1, 2):
        expected = in_process(served, jpegs, version=version)["probabilities"]
        np.testing.assert_allclose(outputs[str(version)], expected, atol=1e-5)
    np.testing.assert_array_equal(outputs[""], outputs["2"])
    assert np.abs(outputs["1"] - outputs["2"]).max() > 1e-3


def test_classify_files_reports_bad_files_and_keeps_the_others(served, jpegs, tmp_path):
    paths = []
    for i, jpeg in enumerate(jpegs * 2):
        path = tmp_path / f"image_{i}.jpg"
        path.write_bytes(jpeg)
        paths.append(str(path))
    (tmp_path / "notes.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    paths[2:2] = [str(tmp_path / "notes.jpg"), str(tmp_path / "missing.jpg")]
    paths.append(str(tmp_path / "empty.png"))

    async def scenario():
        async with AlexNetClient(served.server.http_url, protocol="http") as client:
            return await classify_files(client, paths, top_k=2, batch_size=3, concurrency=2)

    results = run(scenario())

    assert [r.source for r in results] == paths
    errors = {Path(r.source).name: r.error for r in results if r.error}
    assert sorted(errors) == ["empty.png", "missing.jpg", "notes.jpg"]
    assert "Unknown image file format" in errors["notes.jpg"]
    assert "cannot read" in errors["missing.jpg"] and "empty" in errors["empty.png"]
    expected = in_process(served, jpegs)["probabilities"].numpy()
    good = [r for r in results if r.error is None]
    assert len(good) == 2 * len(jpegs)
    for i, result in enumerate(good):
        assert len(result.classifications) == 2
        assert result.classifications[0].label == LABELS[int(np.argmax(expected[i % len(jpegs)]))]


def test_classify_tool_writes_json_lines(served, jpegs, tmp_path, capsys):
    for i, jpeg in enumerate(jpegs):
        (tmp_path / f"{i}.jpg").write_bytes(jpeg)
    (tmp_path / "bad.png").write_bytes(b"garbage")

    code = classify_tool.main(
        [str(tmp_path), "--url", served.server.grpc_url, "--format", "jsonl", "--top-k", "3",
         "--batch-size", "2", "--no-progress"]
    )

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [Path(line["source"]).name for line in lines] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg", "bad.png"]
    assert all(len(line["top_k"]) == 3 and line["error"] is None for line in lines[:4])
    assert lines[4]["top_k"] == [] and "image" in lines[4]["error"]


def test_client_readiness_wait_times_out_for_a_missing_model(served):
    async def scenario():
        async with AlexNetClient(served.server.grpc_url, model_name="resnet") as client:
            await client.wait_until_ready(timeout=1.0, interval=0.2)

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="'resnet'"):
        run(scenario())
    assert time.monotonic() - started < 5


def test_server_refuses_a_port_that_is_taken(served):
    server = TritonServer(served.repository, http_port=served.server.http_port, grpc_port=0,
                          metrics_port=0)
    with pytest.raises(PortInUseError, match=f"Received: http_port={served.server.http_port}"):
        server.start()
    assert not server.running


def test_missing_stub_or_binary_is_reported(tmp_path):
    with pytest.raises(TritonNotFoundError, match="stub for Python 2.7"):
        find_triton(python_version="2.7")
    with pytest.raises(TritonNotFoundError, match="tritonserver binary"):
        find_triton(package_dir=tmp_path)


def _serve_tool(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "serve.py"), "--http-port", "0", "--grpc-port", "0",
         "--metrics-port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def test_serve_tool_stops_cleanly_on_ctrl_c(tmp_path):
    # A model-less repository: the server starts in seconds, without TensorFlow.
    process = _serve_tool("--repository", str(tmp_path))
    try:
        line = process.stdout.readline()
        assert "Serving" in line and "127.0.0.1:" in line and "Ctrl-C" in line
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        process.kill()
    stderr = process.stderr.read()
    assert code == 0, stderr
    assert "Stopped." in stderr


def test_serve_tool_reports_a_model_that_fails_to_load(tmp_path):
    (tmp_path / "broken" / "1").mkdir(parents=True)
    (tmp_path / "broken" / "config.pbtxt").write_text('backend: "python"\nmax_batch_size: -3\n')
    process = _serve_tool("--repository", str(tmp_path))
    code = process.wait(timeout=120)
    stderr = process.stderr.read()
    assert code == 1
    assert "exited with code" in stderr and "broken" in stderr
