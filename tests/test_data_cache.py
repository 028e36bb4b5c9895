"""Decoded image folders are cached by their listing and image size: a second load reads the cache,
a changed folder is decoded again, read-only folders work, writes are atomic, the cache can be off."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import torch

from nasbench import data_cache
from nasbench.data import load_dataset


def _write_pngs(folder: Path, count: int = 6) -> None:
    from PIL import Image

    for name, colour in {"blue": (0, 0, 255), "red": (255, 0, 0)}.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for j in range(count):
            Image.new("RGB", (20 + 3 * j, 14), colour).save(folder / name / f"{j}.png")


def _counting(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = data_cache.decode_all

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("nasbench.data.decode_all", counted)
    return calls


def test_a_second_load_reads_the_cache_and_gives_the_same_tensors(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _write_pngs(tmp_path / "images")
    decodes = _counting(monkeypatch)
    first = load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    assert len(decodes) == 1 and len(list((tmp_path / "cache").glob("*.pt"))) == 1
    second = load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    assert len(decodes) == 1  # nothing decoded again
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.val_y, second.val_y)
    assert first.classes == second.classes == ["blue", "red"]
    load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=16)  # another size: its own file
    assert len(decodes) == 2 and len(list((tmp_path / "cache").glob("*.pt"))) == 2
    assert not list((tmp_path / "cache").glob("*.tmp"))  # written under a temporary name, renamed


def test_a_changed_folder_is_decoded_again(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _write_pngs(tmp_path / "images")
    decodes = _counting(monkeypatch)
    load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    _write_pngs(tmp_path / "images", count=7)  # one more image per class
    grown = load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    assert len(decodes) == 2 and len(grown.train_y) + len(grown.val_y) == 14
    picture = tmp_path / "images" / "red" / "0.png"
    os.utime(picture, ns=(picture.stat().st_atime_ns, picture.stat().st_mtime_ns + 10**9))
    load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)  # same names, newer file
    assert len(decodes) == 3


def test_the_data_folder_is_only_read(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _write_pngs(tmp_path / "images")

    def listing() -> set[tuple[str, int]]:
        return {(str(p), p.stat().st_mtime_ns) for p in (tmp_path / "images").rglob("*")}

    before = listing()
    for path in (tmp_path / "images").rglob("*"):  # read-only where the user is not root
        path.chmod(stat.S_IREAD | (stat.S_IEXEC if path.is_dir() else 0))
    assert len(load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8).classes) == 2
    assert listing() == before


def test_an_unwritable_or_disabled_cache_only_costs_the_decoding(tmp_path, monkeypatch):
    _write_pngs(tmp_path / "images")
    decodes = _counting(monkeypatch)
    monkeypatch.setenv("NASBENCH_CACHE_DIR", "off")
    load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    assert len(decodes) == 2
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(blocker / "cache"))
    assert load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8).num_classes == 2


def test_a_damaged_cache_file_is_decoded_again_and_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_CACHE_DIR", str(tmp_path / "cache"))
    _write_pngs(tmp_path / "images")
    decodes = _counting(monkeypatch)
    first = load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    (cached,) = (tmp_path / "cache").glob("*.pt")
    cached.write_bytes(b"truncated")
    again = load_dataset(f"imagefolder:{tmp_path / 'images'}", image_size=8)
    assert len(decodes) == 2 and torch.equal(first.train_x, again.train_x)
    assert cached.stat().st_size > 100
