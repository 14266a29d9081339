"""Classifies many image files through the server: batches sent concurrently, errors kept.

Files are read and sent in batches of `batch_size`, with up to `concurrency` requests
in flight. A file that cannot be read gets an error result and is not sent. When a
batch request fails (say one file is not an image), each of its files is sent alone, so
only the files the server cannot classify get an error result; a request that fails
for another reason (the connection is lost) gives its files error results too, and the
other requests go on.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Sequence

from tqdm.auto import tqdm
from tritonclient.utils import InferenceServerException

from serving.client import AlexNetClient, Classification
from serving.sources import read_file


@dataclasses.dataclass(frozen=True)
class ImageResult:
    """The classification of one image file, or why it has none.

    Args:
        source: str. The file path.
        classifications: tuple of Classification. The top classes, most probable first;
            empty when `error` is set.
        error: str or None. Why the file could not be classified.
    """

    source: str
    classifications: tuple[Classification, ...] = ()
    error: str | None = None


async def classify_files(
    client: AlexNetClient,
    paths: Sequence[str],
    *,
    top_k: int = 5,
    batch_size: int = 16,
    concurrency: int = 4,
    progress: bool = False,
) -> list[ImageResult]:
    """Classifies image files with a served model.

    Args:
        client: AlexNetClient. A client of the served model.
        paths: sequence of str. The image files.
        top_k: int. Classes to return per image. Defaults to `5`.
        batch_size: int. Images per request; at most the model's `max_batch_size`.
            Defaults to `16`.
        concurrency: int. Requests in flight at once. Defaults to `4`.
        progress: bool. Show a tqdm progress bar (on stderr). Defaults to `False`.

    Returns:
        One `ImageResult` per path, in the order of `paths`.
    """
    for name, value in (("batch_size", batch_size), ("concurrency", concurrency)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    slots = asyncio.Semaphore(concurrency)
    batches = [list(paths[i : i + batch_size]) for i in range(0, len(paths), batch_size)]
    with tqdm(total=len(paths), unit="image", disable=not progress) as bar:

        async def run(batch: list[str]) -> list[ImageResult]:
            async with slots:
                results = await _classify_batch(client, batch, top_k)
            bar.update(len(batch))
            return results

        done = await asyncio.gather(*(run(batch) for batch in batches))
    return [result for results in done for result in results]


async def _classify_batch(
    client: AlexNetClient, batch: list[str], top_k: int
) -> list[ImageResult]:
    results: list[ImageResult | None] = [None] * len(batch)
    readable: dict[int, bytes] = {}
    for position, path in enumerate(batch):
        try:
            readable[position] = await asyncio.to_thread(read_file, path)
        except (OSError, ValueError) as error:
            results[position] = ImageResult(path, error=f"cannot read the file: {error}")
    if readable:
        sent = [(batch[position], data) for position, data in readable.items()]
        for position, result in zip(readable, await _send(client, sent, top_k)):
            results[position] = result
    return results


async def _send(
    client: AlexNetClient, images: list[tuple[str, bytes]], top_k: int
) -> list[ImageResult]:
    try:
        top = await client.classify([data for _, data in images], top_k=top_k)
    except (InferenceServerException, OSError) as error:  # OSError: connection lost
        if len(images) == 1:
            return [ImageResult(images[0][0], error=str(error))]
        # Find the files that failed the batch by sending each one alone.
        singles = [_send(client, [image], top_k) for image in images]
        return [result for results in await asyncio.gather(*singles) for result in results]
    return [ImageResult(path, tuple(classes)) for (path, _), classes in zip(images, top)]
