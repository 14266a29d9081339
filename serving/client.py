"""Async client of an exported AlexNet served by Triton, over gRPC or HTTP.

Imports `tritonclient` and NumPy only. One call sends one request holding a batch of
images: encoded image files (`bytes`, preprocessed by the server) or a float32 array
`[batch, size, size, 3]` of already preprocessed images.

Example:

>>> async with AlexNetClient("127.0.0.1:8001") as client:
...     await client.wait_until_ready(timeout=30)
...     [top5] = await client.classify([open("cat.jpg", "rb").read()], top_k=5)
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from types import ModuleType
from typing import Sequence, Union

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as grpcclient_aio
import tritonclient.http as httpclient
import tritonclient.http.aio as httpclient_aio
from tritonclient.utils import InferenceServerException

from serving import protocol
from serving.shared_memory import SharedMemoryPool

PROTOCOLS = ("grpc", "http")
DEFAULT_URLS = {"grpc": "127.0.0.1:8001", "http": "127.0.0.1:8000"}
# tritonclient's request/result classes and its asyncio client, per protocol.
_MODULES: dict[str, tuple[ModuleType, ModuleType]] = {
    "grpc": (grpcclient, grpcclient_aio),
    "http": (httpclient, httpclient_aio),
}

Images = Union[Sequence[bytes], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Classification:
    """One of an image's top classes.

    Args:
        label: str. The class label, from the model's `labels.txt`.
        index: int. The class index.
        probability: float. The model's probability of the class.
    """

    label: str
    index: int
    probability: float


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What the server says about the model, checked against the expected tensors.

    Args:
        name: str. The model's name.
        versions: tuple of str. The versions being served.
        image_size: int. Side of the preprocessed images the `IMAGES` input takes.
        num_classes: int. Number of classes.
        feature_size: int. Width of the fc7 features.
    """

    name: str
    versions: tuple[str, ...]
    image_size: int
    num_classes: int
    feature_size: int


class ModelMismatchError(ValueError):
    """The served model does not have the tensors of an exported AlexNet."""


class AlexNetClient:
    """Classifies images and extracts fc7 features with a model served by Triton.

    Args:
        url: str or None. `host:port` of the server's gRPC or HTTP endpoint.
            Defaults to `127.0.0.1:8001` for gRPC, `127.0.0.1:8000` for HTTP.
        protocol: str. `"grpc"` or `"http"`. Defaults to `"grpc"`.
        model_name: str. The model's name in the repository. Defaults to `"alexnet"`.
        model_version: str. The version to query; `""` lets the server choose (the
            newest it serves). Defaults to `""`.
        shared_memory: bool. Pass float32 image arrays through system shared memory
            instead of inside the messages; much cheaper for large batches, but the
            server must run on this host. Defaults to `False`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        protocol: str = "grpc",
        model_name: str = "alexnet",
        model_version: str = "",
        shared_memory: bool = False,
    ):
        if protocol not in PROTOCOLS:
            raise ValueError(f"`protocol` must be one of {PROTOCOLS}. Received: protocol={protocol!r}")
        self.url = url or DEFAULT_URLS[protocol]
        self.protocol = protocol
        self.model_name = model_name
        self.model_version = str(model_version)
        self._types, client_module = _MODULES[protocol]
        self._client = client_module.InferenceServerClient(self.url)
        self._shared_memory = SharedMemoryPool(self._client) if shared_memory else None

    async def close(self) -> None:
        """Frees the shared memory regions, if any, and closes the connection."""
        try:
            if self._shared_memory is not None:
                await self._shared_memory.close()
        finally:
            await self._client.close()

    async def __aenter__(self) -> "AlexNetClient":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def wait_until_ready(self, timeout: float = 60.0, interval: float = 0.5) -> ModelInfo:
        """Waits until the server and the model are ready, then checks the model.

        Args:
            timeout: float. Seconds to wait. Defaults to `60`.
            interval: float. Seconds between checks. Defaults to `0.5`.

        Returns:
            The model's `ModelInfo`.

        Raises:
            TimeoutError: the model was not ready within `timeout` seconds.
            ModelMismatchError: the model is not an exported AlexNet.
        """
        deadline = time.monotonic() + timeout
        last_error = "not ready"
        while True:
            try:
                if await self._client.is_server_ready() and await self._client.is_model_ready(
                    self.model_name, self.model_version
                ):
                    return await self.model_info()
            except (InferenceServerException, OSError) as error:  # OSError: no connection
                last_error = str(error)
            if time.monotonic() + interval > deadline:
                raise TimeoutError(
                    f"Model {self.model_name!r} at {self.url} ({self.protocol}) was not ready "
                    f"within {timeout} s ({last_error}). Received: timeout={timeout}"
                )
            await asyncio.sleep(interval)

    async def model_info(self) -> ModelInfo:
        """Reads the model's metadata and checks its inputs and outputs.

        Raises:
            ModelMismatchError: the model lacks a tensor of an exported AlexNet.
        """
        if self.protocol == "grpc":
            metadata = await self._client.get_model_metadata(
                self.model_name, self.model_version, as_json=True
            )
        else:
            metadata = await self._client.get_model_metadata(self.model_name, self.model_version)
        tensors = {
            t["name"]: (t["datatype"], [int(d) for d in t["shape"]])
            for t in metadata.get("inputs", []) + metadata.get("outputs", [])
        }
        expected = {
            protocol.IMAGE_BYTES: "BYTES",
            protocol.IMAGES: "FP32",
            protocol.PROBABILITIES: "FP32",
            protocol.FEATURES: "FP32",
        }
        found = {name: tensors.get(name, (None, []))[0] for name in expected}
        if found != expected:
            raise ModelMismatchError(
                f"Model {self.model_name!r} at {self.url} is not an exported AlexNet: expected "
                f"tensors {expected}. Received: tensors={ {n: t[0] for n, t in tensors.items()} }"
            )
        return ModelInfo(
            name=metadata["name"],
            versions=tuple(metadata.get("versions", ())),
            image_size=tensors[protocol.IMAGES][1][1],
            num_classes=tensors[protocol.PROBABILITIES][1][-1],
            feature_size=tensors[protocol.FEATURES][1][-1],
        )

    async def classify(self, images: Images, top_k: int = 5) -> list[list[Classification]]:
        """The top classes of each image, from Triton's classification extension.

        Args:
            images: sequence of bytes (encoded image files) or float32 array
                `[batch, size, size, 3]` of preprocessed images. Sent as one request.
            top_k: int. Classes to return per image. Defaults to `5`.

        Returns:
            One list of `top_k` `Classification`s per image, most probable first.
        """
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"`top_k` must be a positive integer. Received: top_k={top_k!r}")
        output = self._types.InferRequestedOutput(protocol.PROBABILITIES, class_count=top_k)
        result = await self._infer(images, [output])
        return [
            [_parse_classification(entry) for entry in np.atleast_1d(row)]
            for row in result.as_numpy(protocol.PROBABILITIES)
        ]

    async def probabilities(self, images: Images) -> np.ndarray:
        """Class probabilities `[batch, num_classes]` of each image (see `classify`)."""
        output = self._types.InferRequestedOutput(protocol.PROBABILITIES)
        return (await self._infer(images, [output])).as_numpy(protocol.PROBABILITIES)

    async def features(self, images: Images) -> np.ndarray:
        """fc7 features `[batch, feature_size]` of each image (see `classify`), the
        paper's representation for finding similar images by Euclidean distance."""
        output = self._types.InferRequestedOutput(protocol.FEATURES)
        return (await self._infer(images, [output])).as_numpy(protocol.FEATURES)

    async def _infer(self, images: Images, outputs: list):
        region = None
        if isinstance(images, np.ndarray):
            if images.dtype != np.float32 or images.ndim != 4:
                raise ValueError(
                    "Preprocessed images must be a float32 array [batch, size, size, 3]. "
                    f"Received: dtype={images.dtype}, shape={images.shape}"
                )
            tensor = self._types.InferInput(protocol.IMAGES, list(images.shape), "FP32")
            if self._shared_memory is None:
                tensor.set_data_from_numpy(images)
            else:
                region = await self._shared_memory.put(images)
                tensor.set_shared_memory(region.name, images.nbytes)
        else:
            tensor = self._encoded_input(images)
        try:
            return await self._client.infer(
                self.model_name, [tensor], model_version=self.model_version, outputs=outputs
            )
        finally:
            if region is not None:
                self._shared_memory.release(region)

    def _encoded_input(self, images: Sequence[bytes]):
        encoded = list(images)
        if not encoded or not all(isinstance(image, bytes) for image in encoded):
            raise ValueError(
                "Encoded images must be a non-empty sequence of bytes. "
                f"Received: types={sorted({type(image).__name__ for image in encoded})}"
            )
        tensor = self._types.InferInput(protocol.IMAGE_BYTES, [len(encoded), 1], "BYTES")
        tensor.set_data_from_numpy(np.array(encoded, dtype=object).reshape(-1, 1))
        return tensor


def _parse_classification(entry: bytes) -> Classification:
    """Parses the classification extension's `b"score:index:label"`."""
    score, index, label = entry.decode("utf-8").split(":", 2)
    return Classification(label=label, index=int(index), probability=float(score))
