"""Input tensors passed through system shared memory to a Triton server on the same host.

A batch of 64 float32 227x227x3 images is 40 MB. Sent inside a gRPC or HTTP message it
is copied several times on both sides, which on a small machine costs as much CPU as a
third of the model's own work. Written once into a shared memory region that the server
has registered, only its name travels in the request. Each request in flight needs its
own region; `SharedMemoryPool` keeps them for reuse and frees them on `close()`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import secrets

import numpy as np
import tritonclient.utils.shared_memory as shm


@dataclasses.dataclass
class Region:
    """A registered system shared memory region.

    Args:
        name: str. The region's name on the server.
        byte_size: int. Its size in bytes.
        handle: tritonclient's handle of the mapped region.
    """

    name: str
    byte_size: int
    handle: shm.SharedMemoryRegion


class SharedMemoryPool:
    """Shared memory regions registered with one server, one per request in flight.

    Args:
        client: a tritonclient asyncio client (gRPC or HTTP) of a server on this host.
    """

    def __init__(self, client):
        self._client = client
        self._free: list[Region] = []
        self._all: list[Region] = []
        self._prefix = f"alexnet_tf_{os.getpid()}_{secrets.token_hex(4)}"
        self._numbers = itertools.count()

    async def put(self, array: np.ndarray) -> Region:
        """Copies `array` into a free region (registering a new one if none fits).

        Returns:
            The region; give it back with `release` once the request has completed.
        """
        fitting = [region for region in self._free if region.byte_size >= array.nbytes]
        if fitting:
            region = min(fitting, key=lambda r: r.byte_size)
            self._free.remove(region)
        else:
            region = await self._create(array.nbytes)
        shm.set_shared_memory_region(region.handle, [np.ascontiguousarray(array)])
        return region

    def release(self, region: Region) -> None:
        """Makes a region available to later requests."""
        self._free.append(region)

    async def close(self) -> None:
        """Unregisters and frees every region."""
        regions, self._all, self._free = self._all, [], []
        for region in regions:
            await self._client.unregister_system_shared_memory(region.name)
            shm.destroy_shared_memory_region(region.handle)

    async def _create(self, byte_size: int) -> Region:
        name = f"{self._prefix}_{next(self._numbers)}"
        handle = shm.create_shared_memory_region(name, "/" + name, byte_size, create_only=True)
        try:
            await self._client.register_system_shared_memory(name, "/" + name, byte_size)
        except BaseException:
            shm.destroy_shared_memory_region(handle)
            raise
        region = Region(name=name, byte_size=byte_size, handle=handle)
        self._all.append(region)
        return region
