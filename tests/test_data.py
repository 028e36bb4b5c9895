"""Datasets: shapes, classes, the fixed validation split, the real file formats, batch augmentation."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from nasbench.data import (
    DATASET_NAMES,
    DataError,
    check_dataset_name,
    crop_flip,
    load_dataset,
    make_batch_augment,
)
from nasbench.errors import UsageError


def _rows(x: torch.Tensor) -> set[bytes]:
    return {img.numpy().tobytes() for img in x}


def test_digits_has_three_disjoint_stratified_splits_of_uint8_images():
    data = load_dataset("digits")
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 1, 8)
    assert data.train_x.dtype == torch.uint8 and data.train_y.dtype == torch.int64
    assert data.train_x.shape[1:] == (1, 8, 8)
    sizes = (len(data.train_y), len(data.val_y), len(data.test_y))
    assert sum(sizes) == 1797 and sizes == (1077, 360, 360)
    assert int(data.train_x.max()) == 255  # 16 grey levels scaled to the uint8 range
    for y in (data.train_y, data.val_y, data.test_y):
        counts = torch.bincount(y, minlength=10)
        assert counts.min() >= 0.8 * counts.float().mean()  # stratified: every class its share
    from sklearn.datasets import load_digits

    every = load_digits()
    scaled = np.round(every.images * (255.0 / 16.0)).astype(np.uint8)
    together = torch.cat([data.train_x, data.val_x, data.test_x]).squeeze(1).numpy()
    # the splits partition the dataset: same multiset of images
    assert sorted(map(bytes, together.reshape(1797, -1))) == sorted(
        map(bytes, scaled.reshape(1797, -1))
    )


def test_validation_split_is_fixed_whatever_the_seed_and_fraction():
    a = load_dataset("digits", seed=0)
    b = load_dataset("digits", seed=7, train_fraction=0.5)
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.val_y, b.val_y)
    assert torch.equal(a.test_x, b.test_x)
    assert _rows(b.train_x) <= _rows(a.train_x)  # the fraction is drawn from the same train split


def test_train_fraction_subsamples_deterministically_by_seed():
    full = load_dataset("digits")
    a = load_dataset("digits", train_fraction=0.25, seed=1)
    b = load_dataset("digits", train_fraction=0.25, seed=1)
    c = load_dataset("digits", train_fraction=0.25, seed=2)
    assert len(a.train_y) == round(0.25 * len(full.train_y))
    assert torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.train_x, c.train_x)
    assert torch.bincount(a.train_y, minlength=10).min() >= 20
    assert _rows(a.train_x) <= _rows(full.train_x)


def test_image_size_resizes_every_split_on_load():
    data = load_dataset("digits", image_size=16)
    assert data.image_size == 16
    for x in (data.train_x, data.val_x, data.test_x):
        assert x.shape[1:] == (1, 16, 16) and x.dtype == torch.uint8


def test_synthetic_data_is_fixed_and_small():
    a, b = load_dataset("synthetic"), load_dataset("synthetic")
    assert torch.equal(a.train_x, b.train_x)
    assert a.train_x.shape == (256, 3, 8, 8) and a.num_classes == 4
    assert len(a.val_y) == 64 and len(a.test_y) == 64


def test_normalize_uses_training_statistics():
    data = load_dataset("synthetic")
    x = data.normalize(data.train_x)
    assert x.dtype == torch.float32
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-2)


@pytest.mark.parametrize("name", ["imagenet", "cifar", "imagefolder", "imagefolder:", "digits:x"])
def test_unknown_dataset_is_a_usage_error_listing_the_names(name):
    with pytest.raises(DataError) as err:
        load_dataset(name)
    assert isinstance(err.value, UsageError) and "\n" not in str(err.value)


def test_dataset_names_are_all_accepted_by_the_name_check():
    for name in DATASET_NAMES:
        check_dataset_name(name.replace("PATH", "/some/folder"))
    with pytest.raises(DataError, match="valid datasets: digits, cifar10"):
        check_dataset_name("svhn")


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_train_fraction_out_of_range_is_refused(fraction):
    with pytest.raises(DataError, match="train fraction"):
        load_dataset("digits", train_fraction=fraction)


# ---- the real file formats, written small -------------------------------------------------------


def _write_cifar(
    folder: Path, files: dict[str, tuple[np.ndarray, list[int]]], label_key: str
) -> None:
    folder.mkdir(parents=True)
    for name, (images, labels) in files.items():
        entry = {"data": images.reshape(len(images), -1), label_key: labels}
        if label_key == "fine_labels":
            entry["coarse_labels"] = [label // 5 for label in labels]
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f)


def _images(rng: np.random.Generator, n: int, channels: int, side: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, channels, side, side), dtype=np.uint8)


def test_cifar10_reads_the_python_pickle_batches(tmp_path):
    rng = np.random.default_rng(0)
    files = {}
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images, labels = _images(rng, 20, 3, 32), [i % 10 for i in range(20)]
        files[name] = (images, labels)
        written.update({img.tobytes(): label for img, label in zip(images, labels, strict=True)})
    folder = tmp_path / "cifar-10-batches-py"
    _write_cifar(folder, files, "labels")
    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names, "num_vis": 3072}, f)

    data = load_dataset("cifar10", data_dir=tmp_path, download=False)
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 3, 32)
    assert data.classes == names
    assert (len(data.train_y), len(data.val_y), len(data.test_y)) == (90, 10, 20)
    # every image comes back channel-first and with its own label
    for x, y in (
        (data.train_x, data.train_y),
        (data.val_x, data.val_y),
        (data.test_x, data.test_y),
    ):
        for img, label in zip(x, y, strict=True):
            assert written[img.numpy().tobytes()] == int(label)
    assert torch.equal(torch.bincount(data.val_y, minlength=10), torch.ones(10, dtype=torch.int64))


def test_cifar100_reads_fine_labels(tmp_path):
    rng = np.random.default_rng(1)
    train_x, test_x = _images(rng, 200, 3, 32), _images(rng, 100, 3, 32)
    folder = tmp_path / "cifar-100-python"
    _write_cifar(
        folder,
        {"train": (train_x, [i % 100 for i in range(200)]), "test": (test_x, list(range(100)))},
        "fine_labels",
    )
    with open(folder / "meta", "wb") as f:
        pickle.dump(
            {"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": []}, f
        )

    data = load_dataset("cifar100", data_dir=tmp_path, image_size=16, download=False)
    assert data.num_classes == 100 and data.classes[:2] == ["c0", "c1"]
    assert data.train_x.shape == (180, 3, 16, 16)
    assert torch.equal(data.test_y, torch.arange(100))


def _write_idx(path: Path, images: np.ndarray, labels: np.ndarray, compress: bool) -> None:
    n, rows, cols = images.shape
    blobs = {
        "images": struct.pack(">IIII", 0x803, n, rows, cols) + images.tobytes(),
        "labels": struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes(),
    }
    for kind, prefix in (("images", "idx3"), ("labels", "idx1")):
        name = path.name.replace("KIND", kind).replace("IDX", prefix)
        target = path.parent / name
        if compress:
            with gzip.open(f"{target}.gz", "wb") as f:
                f.write(blobs[kind])
        else:
            target.write_bytes(blobs[kind])


@pytest.mark.parametrize(
    ("name", "folder", "compress"),
    [
        ("mnist", "MNIST", False),
        ("mnist", "MNIST", True),
        ("fashion_mnist", "FashionMNIST", True),
    ],
)
def test_mnist_family_reads_idx_files_plain_or_gzipped(tmp_path, name, folder, compress):
    rng = np.random.default_rng(2)
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    train = rng.integers(0, 256, size=(100, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    _write_idx(raw / "train-KIND-IDX-ubyte", train, np.arange(100) % 10, compress)
    _write_idx(raw / "t10k-KIND-IDX-ubyte", test, np.arange(30) % 10, compress)

    data = load_dataset(name, data_dir=tmp_path, download=False)
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 1, 28)
    assert (len(data.train_y), len(data.val_y)) == (90, 10)
    assert torch.equal(data.test_x.squeeze(1), torch.from_numpy(test))
    assert torch.equal(data.test_y, torch.arange(30) % 10)
    assert _rows(data.train_x.squeeze(1)) | _rows(data.val_x.squeeze(1)) == _rows(
        torch.from_numpy(train)
    )


@pytest.mark.parametrize(
    ("name", "where", "what"),
    [
        (
            "cifar10",
            "cifar-10-batches-py",
            "data_batch_1..data_batch_5, test_batch and batches.meta",
        ),
        ("cifar100", "cifar-100-python", "train, test and meta"),
        ("mnist", "MNIST/raw", "train-images-idx3-ubyte"),
        ("fashion_mnist", "FashionMNIST/raw", "t10k-labels-idx1-ubyte"),
    ],
)
def test_missing_files_error_says_which_files_go_where(tmp_path, name, where, what):
    with pytest.raises(DataError) as err:
        load_dataset(name, data_dir=tmp_path, download=False)
    message = str(err.value)
    assert "\n" not in message
    assert what in message and str(tmp_path / where) in message


def test_unreadable_cifar_files_are_a_data_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_text("not a pickle")
    with pytest.raises(DataError, match="cannot read cifar10"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def _write_pngs(folder: Path, classes: dict[str, tuple[int, int, int]], count: int) -> None:
    from PIL import Image

    for i, (name, colour) in enumerate(classes.items()):
        (folder / name).mkdir(parents=True)
        for j in range(count):
            size = (20 + 3 * j, 12 + 2 * i)  # mixed sizes and aspect ratios
            Image.new("RGB", size, colour).save(folder / name / f"{j}.png")


def test_imagefolder_with_train_and_val_folders(tmp_path):
    colours = {"blue": (0, 0, 255), "red": (255, 0, 0)}
    _write_pngs(tmp_path / "train", colours, 10)
    _write_pngs(tmp_path / "val", colours, 3)
    data = load_dataset(f"imagefolder:{tmp_path}", image_size=16)
    assert data.classes == ["blue", "red"] and data.num_classes == 2
    assert data.train_x.shape == (16, 3, 16, 16) and len(data.val_y) == 4
    assert data.test_x.shape == (6, 3, 16, 16)
    # resized whole: a red image stays red everywhere
    red = data.train_x[data.train_y == 1]
    assert int(red[:, 0].min()) == 255 and int(red[:, 2].max()) == 0


def test_imagefolder_single_folder_has_no_test_split(tmp_path):
    _write_pngs(tmp_path, {"a": (10, 10, 10), "b": (200, 200, 200), "c": (90, 0, 90)}, 5)
    data = load_dataset(f"imagefolder:{tmp_path}", image_size=8)
    assert data.test_x is None and data.test_y is None
    assert len(data.train_y) + len(data.val_y) == 15 and data.image_size == 8


def test_imagefolder_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="is not a folder"):
        load_dataset(f"imagefolder:{tmp_path / 'nothing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(f"imagefolder:{tmp_path / 'empty'}")


# ---- batch augmentation -------------------------------------------------------------------------


def test_crop_flip_draws_a_window_of_the_padded_image_per_image():
    torch.manual_seed(0)
    x = torch.randint(1, 256, (64, 2, 6, 6), dtype=torch.uint8)
    out = crop_flip(x, padding=2, hflip=False)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    offsets = set()
    for i in range(64):
        found = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(out[i], padded[i, :, dy : dy + 6, dx : dx + 6])
        ]
        assert found, "each output is a window of its own padded image"
        offsets.add(found[0])
    assert len(offsets) > 5  # independent draws, not one crop for the whole batch


def test_crop_flip_flips_about_half_of_the_images():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (200, 1, 5, 5), dtype=torch.uint8)
    out = crop_flip(x, padding=0, hflip=True)
    flipped = sum(torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True))
    kept = sum(torch.equal(o, i) for o, i in zip(out, x, strict=True))
    assert flipped + kept == 200 and 60 < flipped < 140


@pytest.mark.parametrize("augment", ["none", "flip_crop", "trivialaugment", "randaugment"])
@pytest.mark.parametrize("channels", [1, 3])
def test_batch_augment_keeps_shape_and_dtype(augment, channels):
    torch.manual_seed(0)
    x = torch.randint(0, 256, (8, channels, 8, 8), dtype=torch.uint8)
    apply = make_batch_augment(augment, hflip=True, crop_padding=1, random_erasing=0.5)
    out = apply(x)
    assert out.shape == x.shape and out.dtype == torch.uint8
    if augment == "none":
        assert (out == x).all(dim=(1, 2, 3)).any()  # images not erased are untouched
