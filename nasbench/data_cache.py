"""Decoded image folders, kept: decode with every core once, then load uint8 tensors in seconds.

An image folder (`imagefolder:PATH`) is decoded and resized once per image size and stored as one
tensor file in the cache folder (`NASBENCH_CACHE_DIR`, default `~/.cache/nasbench`). The file's
name is a hash of the folder's listing (every image's relative path, size and modification time),
the image size and this module's format version, so a changed folder is read again and an
unchanged one never is. Files are written to a temporary name and renamed into place (atomic on
one file system), so workers that load together never read half a file; the data folder itself is
only read, and may be read-only. `NASBENCH_CACHE_DIR=off` turns the cache off; deleting the cache
folder (`rm -r ~/.cache/nasbench`) clears it.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

FORMAT_VERSION = 1  # bump when what a cache file holds changes
CHUNK = 2000  # images a worker process decodes per task
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def cache_dir() -> Path | None:
    """Where decoded folders are kept; None when NASBENCH_CACHE_DIR is "off"."""
    setting = os.environ.get("NASBENCH_CACHE_DIR", "").strip()
    if setting.lower() in ("off", "none", "0"):
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "nasbench"


def listing_key(folder: Path, image_size: int) -> str:
    """A hash of what decoding `folder` at `image_size` depends on: every image file's relative
    path, byte size and modification time, the size and the format version."""
    digest = hashlib.sha256(f"v{FORMAT_VERSION} size={image_size}\n".encode())
    stack = [""]
    while stack:  # os.scandir on plain strings: pathlib costs seconds on 60,000 files
        relative = stack.pop()
        entries = sorted(os.scandir(os.path.join(folder, relative)), key=lambda e: e.name)
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            if entry.is_dir():
                stack.append(name)
            elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                stat = entry.stat()
                digest.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]


def load_or_decode(
    folder: Path, image_size: int, decode: Callable[[], dict[str, object]]
) -> dict[str, object]:
    """The decoded folder from the cache when its listing is unchanged; else `decode()` it and
    keep the result. A cache folder that cannot be written costs only the keeping."""
    where = cache_dir()
    if where is None:
        return decode()
    path = where / f"imagefolder-{folder.name}-{listing_key(folder, image_size)}.pt"
    if path.is_file():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a damaged cache file is decoded again and replaced
            pass
    decoded = decode()
    temporary = None
    try:
        where.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=where, prefix=path.stem, suffix=".tmp")
        with os.fdopen(handle, "wb") as file:
            torch.save(decoded, file)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
    return decoded


def decode_all(
    paths: Sequence[str],
    decode_chunk: Callable[[Sequence[str]], list[np.ndarray]],
    workers: int | None = None,
) -> list[np.ndarray]:
    """decode_chunk over chunks of the paths, one process per core, in order. Processes,
    not threads: Pillow decodes a 32x32 JPEG in too little time to release the GIL usefully
    (two threads took 29 s for CIFAR-10's 60,000 images here, one 22.6 s)."""
    workers = workers or _cores()
    chunks = [paths[i : i + CHUNK] for i in range(0, len(paths), CHUNK)]
    if workers == 1 or len(chunks) < 2:
        parts = [decode_chunk(chunk) for chunk in chunks]
    else:  # fork: the children inherit the imports and only run Pillow
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            parts = list(pool.map(decode_chunk, chunks))
    return [image for part in parts for image in part]


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
