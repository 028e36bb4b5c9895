"""Datasets by name, held in memory as uint8 tensors with a fixed validation split, and batch augmentation.

Every loader returns a `DataSplits`: images as uint8 tensors (N, C, H, W) at the requested size
(resized once, on load), labels as int64 tensors (N,), and the per-channel mean and std of the
training images that `DataSplits.normalize` applies on the device after augmentation. The validation
split is held out of the training data with a fixed seed (`SPLIT_SEED`, stratified by class), so it
never depends on the trial seed; a search selects on it, never on the test split.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nasbench.data_cache import decode_all, load_or_decode
from nasbench.errors import UsageError
from nasbench.names import DATASET_NAMES

SPLIT_SEED = 12345  # fixed: the validation split is the same for every trial and every search
VAL_FRACTION = 0.1  # of the training data, for datasets with an official test split
DIGITS_VAL_FRACTION = 0.2  # digits has no official split: 20% test, then 20% of all images for val
DEFAULT_DATA_DIR = "data"
DOWNLOAD_TIMEOUT_S = 30.0
DEFAULT_IMAGE_SIZE = {
    "digits": 8,
    "cifar10": 32,
    "cifar100": 32,
    "mnist": 28,
    "fashion_mnist": 28,
    "imagefolder": 32,
    "synthetic": 8,
}
SYNTHETIC_SHAPE = {"classes": 4, "channels": 3, "train": 256, "val": 64, "test": 64}

CIFAR_FILES = {
    "cifar10": (
        "cifar-10-batches-py",
        "data_batch_1..data_batch_5, test_batch and batches.meta",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    ),
    "cifar100": (
        "cifar-100-python",
        "train, test and meta",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    ),
}
MNIST_FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


class DataError(UsageError):
    """A dataset that cannot be loaded: unknown name, missing or unreadable files, bad option."""


@dataclass
class DataSplits:
    """Train/validation/test images (uint8, N x C x H x W) and labels (int64), held in memory."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor | None
    test_y: torch.Tensor | None
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]  # per channel, of train_x scaled to [0, 1]
    std: tuple[float, ...]
    classes: list[str] = field(default_factory=list)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float32, scaled to [0, 1] and standardised with the training statistics."""
        return normalize(x, self.mean, self.std)


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float32 standardised per channel; mean/std in [0, 1] units."""
    shape = (1, len(mean), 1, 1)
    m = torch.tensor(mean, device=x.device).view(shape) * 255.0
    s = torch.tensor(std, device=x.device).view(shape) * 255.0
    return (x.float() - m) / s


def check_dataset_name(name: str) -> None:
    """Raise DataError unless `name` is a dataset name this module can load (nothing is read)."""
    if name.startswith("imagefolder:"):
        if not name.split(":", 1)[1]:
            raise DataError("imagefolder needs a folder: imagefolder:PATH")
        return
    if name not in DEFAULT_IMAGE_SIZE or name == "imagefolder":
        raise DataError(f"unknown dataset {name!r}; valid datasets: {', '.join(DATASET_NAMES)}")


def native_image_size(name: str) -> int:
    """The size a dataset loads at when no image size is asked for (an image folder's default)."""
    check_dataset_name(name)
    return DEFAULT_IMAGE_SIZE[name.split(":", 1)[0]]


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    image_size: int | None = None,
    train_fraction: float = 1.0,
    seed: int = 0,
    download: bool = True,
) -> DataSplits:
    """Load a dataset by name (see DATASET_NAMES) into memory, resized once to `image_size`.

    `train_fraction` keeps that fraction of the training split (stratified, chosen by `seed`);
    the validation and test splits never change. Files of cifar10/cifar100/mnist/fashion_mnist are
    read from `data_dir` (default ./data); when missing they are downloaded there if `download` and
    the network allow, otherwise a DataError names the files to put in which folder.
    """
    check_dataset_name(name)
    if not 0.0 < train_fraction <= 1.0:
        raise DataError(f"train fraction must be in (0, 1], got {train_fraction}")
    if image_size is not None and (not isinstance(image_size, int) or image_size < 1):
        raise DataError(f"image size must be a positive integer, got {image_size!r}")
    root = Path(data_dir if data_dir is not None else DEFAULT_DATA_DIR)
    kind = name.split(":", 1)[0]
    size = image_size or DEFAULT_IMAGE_SIZE[kind]

    if kind == "digits":
        raw = _load_digits()
    elif kind in CIFAR_FILES:
        raw = _load_cifar(kind, root, download)
    elif kind in MNIST_FOLDERS:
        raw = _load_mnist(kind, root, download)
    elif kind == "imagefolder":
        raw = _load_imagefolder(Path(name.split(":", 1)[1]), size)
    else:
        raw = _make_synthetic()
    (tx, ty), (vx, vy), test, classes = raw

    if train_fraction < 1.0:
        try:
            keep, _ = _stratified_split(ty, 1.0 - train_fraction, seed)
        except ValueError:  # scikit-learn refuses a split that keeps no image
            keep = []
        if len(keep) == 0:
            raise DataError(
                f"train fraction {train_fraction} leaves none of the {len(ty)} training images"
            )
        tx, ty = tx[keep], ty[keep]
    tx, vx = _resize(tx, size), _resize(vx, size)
    test_x, test_y = (_resize(test[0], size), test[1]) if test is not None else (None, None)
    mean, std = _channel_stats(tx)
    return DataSplits(
        name=name,
        train_x=tx,
        train_y=ty,
        val_x=vx,
        val_y=vy,
        test_x=test_x,
        test_y=test_y,
        num_classes=len(classes),
        in_channels=tx.shape[1],
        image_size=size,
        mean=mean,
        std=std,
        classes=classes,
    )


Pair = tuple[torch.Tensor, torch.Tensor]
Raw = tuple[Pair, Pair, Pair | None, list[str]]


def with_val_subset(data: DataSplits, count: int) -> DataSplits:
    """The splits with `count` validation images: a fixed (SPLIT_SEED), stratified subset, the
    same for every trial and budget; all of them when there are no more."""
    if count >= len(data.val_y):
        return data
    _, held = _stratified_split(data.val_y, count, SPLIT_SEED)
    return dataclasses.replace(data, val_x=data.val_x[held], val_y=data.val_y[held])


def _stratified_split(
    y: torch.Tensor, held_fraction: float | int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out), stratified by label when every class can be represented."""
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    labels = y.numpy()
    try:
        kept, held = train_test_split(
            index, test_size=held_fraction, stratify=labels, random_state=seed
        )
    except ValueError:  # too few images per class to stratify
        kept, held = train_test_split(index, test_size=held_fraction, random_state=seed)
    return np.sort(kept), np.sort(held)


def _hold_out_val(x: torch.Tensor, y: torch.Tensor, fraction: float) -> tuple[Pair, Pair]:
    kept, held = _stratified_split(y, fraction, SPLIT_SEED)
    return (x[kept], y[kept]), (x[held], y[held])


def _load_digits() -> Raw:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 16 grey levels (0..16) -> 0..255
    x = torch.from_numpy(np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    (dev_x, dev_y), test = _hold_out_val(x, y, DIGITS_VAL_FRACTION)
    # val is DIGITS_VAL_FRACTION of all images, held out of what is left after the test split
    train, val = _hold_out_val(dev_x, dev_y, DIGITS_VAL_FRACTION / (1.0 - DIGITS_VAL_FRACTION))
    return train, val, test, [str(c) for c in bunch.target_names]


def _cifar_class(kind: str) -> type:
    from torchvision.datasets import CIFAR10, CIFAR100

    base = CIFAR10 if kind == "cifar10" else CIFAR100

    class NoChecksum(base):  # type: ignore[misc, valid-type]
        # torchvision checks the MD5 sums of the published files; we accept any files in the format
        # (the tests write small ones). The archive's checksum is still checked on download.
        train_list = [[f, None] for f, _ in base.train_list]
        test_list = [[f, None] for f, _ in base.test_list]
        meta = {**base.meta, "md5": None}

    return NoChecksum


def _load_cifar(kind: str, root: Path, download: bool) -> Raw:
    folder, files, url = CIFAR_FILES[kind]
    cls = _cifar_class(kind)
    names = [f for f, _ in cls.train_list + cls.test_list] + [cls.meta["filename"]]
    if not all((root / folder / f).is_file() for f in names):
        _download_or_explain(
            lambda: cls(str(root), train=True, download=True),
            download,
            f"{kind} files are missing: put {files} (from {url}) in {root / folder}/",
        )
    try:
        train_set = cls(str(root), train=True)
        test_set = cls(str(root), train=False)
    except Exception as err:
        raise DataError(f"cannot read {kind} from {root / folder}: {_one_line(err)}") from None

    def tensors(ds) -> Pair:  # noqa: ANN001
        x = torch.from_numpy(np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)))
        return x, torch.tensor(ds.targets, dtype=torch.int64)

    train, val = _hold_out_val(*tensors(train_set), VAL_FRACTION)
    return train, val, tensors(test_set), list(train_set.classes)


def _load_mnist(kind: str, root: Path, download: bool) -> Raw:
    from torchvision.datasets import MNIST, FashionMNIST
    from torchvision.datasets.utils import extract_archive

    cls = MNIST if kind == "mnist" else FashionMNIST
    raw = root / MNIST_FOLDERS[kind] / "raw"
    for name in MNIST_FILES:  # torchvision reads the decompressed files; accept .gz as given
        if not (raw / name).is_file() and (raw / f"{name}.gz").is_file():
            extract_archive(str(raw / f"{name}.gz"), str(raw))
    if not all((raw / name).is_file() for name in MNIST_FILES):
        _download_or_explain(
            lambda: cls(str(root), train=True, download=True),
            download,
            f"{kind} files are missing: put {', '.join(MNIST_FILES)} (or their .gz) in {raw}/",
        )
    try:
        train_set = cls(str(root), train=True)
        test_set = cls(str(root), train=False)
    except Exception as err:
        raise DataError(f"cannot read {kind} from {raw}: {_one_line(err)}") from None

    def tensors(ds) -> Pair:  # noqa: ANN001
        return ds.data.unsqueeze(1).contiguous(), ds.targets.to(torch.int64)

    train, val = _hold_out_val(*tensors(train_set), VAL_FRACTION)
    return train, val, tensors(test_set), list(cls.classes)


def _download_or_explain(fetch: Callable[[], object], download: bool, missing: str) -> None:
    if not download:
        raise DataError(missing)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # a firewall that drops packets must not hang us
    try:
        fetch()
    except Exception as err:
        text = _one_line(err)
        reason = re.search(r"<urlopen error [^>]*>", text)
        raise DataError(
            f"{missing} (download failed: {reason[0] if reason else text[:160]})"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


MIN_IMAGES_PER_CLASS = 2


def _load_imagefolder(path: Path, size: int) -> Raw:
    """PATH/train and PATH/val|test (train/val split from train, test from val|test), else PATH alone."""
    if not path.is_dir():
        raise DataError(f"imagefolder: {path} is not a folder")
    train_dir = path / "train" if (path / "train").is_dir() else path
    test_dirs = [path / d for d in ("test", "val") if (path / d).is_dir()]
    test_dir = test_dirs[0] if train_dir != path and test_dirs else None

    def read(folder: Path) -> tuple[Pair, list[str]]:
        # torchvision only to decode: importing it costs 2 s, most of a cached CIFAR-10 load
        from PIL import Image
        from torchvision.datasets import ImageFolder
        from torchvision.transforms import v2

        # resized on the tensor, one image at a time, exactly as earlier versions did
        resize = v2.Compose([v2.Resize(size, antialias=True), v2.CenterCrop(size)])
        try:
            ds = ImageFolder(str(folder))
            arrays = decode_all([p for p, _ in ds.samples], _decode_images)
        except (FileNotFoundError, OSError) as err:
            raise DataError(f"imagefolder: cannot read {folder}: {_one_line(err)}") from None
        except Image.DecompressionBombError as err:  # Pillow's guard against huge images
            raise DataError(
                f"imagefolder: refusing an image in {folder}: {_one_line(err)}"
            ) from None
        images = [resize(torch.from_numpy(a).permute(2, 0, 1)) for a in arrays]
        return (torch.stack(images), torch.tensor(ds.targets, dtype=torch.int64)), ds.classes

    def decode() -> dict[str, object]:
        (x, y), classes = read(train_dir)
        decoded: dict[str, object] = {"train": (x, y), "classes": classes, "test": None}
        if test_dir is not None:
            decoded["test"], test_classes = read(test_dir)
            if test_classes != classes:
                raise DataError(
                    f"imagefolder: {test_dir} and {train_dir} have different class folders"
                )
        return decoded

    decoded = load_or_decode(path, size, decode)
    (x, y), test, classes = decoded["train"], decoded["test"], list(decoded["classes"])
    counts = torch.bincount(y, minlength=len(classes))
    if len(classes) >= 2 and int(counts.min()) < MIN_IMAGES_PER_CLASS:
        raise DataError(
            f"imagefolder: class folder {classes[int(counts.argmin())]} of {train_dir} has "
            f"{int(counts.min())} image(s): each class needs at least {MIN_IMAGES_PER_CLASS} (one "
            "is held out to validate on)"
        )
    if len(classes) < 2:
        raise DataError(
            f"imagefolder: {train_dir} has one class folder ({classes[0]}): a classifier needs "
            "at least 2, one folder of images per class"
        )
    train, val = _hold_out_val(x, y, VAL_FRACTION if len(y) >= 200 else 0.2)
    return train, val, test, classes


def _decode_images(paths: Sequence[str]) -> list[np.ndarray]:
    """Each image as ImageFolder reads it (Pillow, RGB), H x W x 3 uint8 at its own size."""
    from PIL import Image

    decoded = []
    for path in paths:
        with Image.open(path) as image:
            decoded.append(np.array(image.convert("RGB")))  # writable: torch.from_numpy keeps it
    return decoded


def _make_synthetic() -> Raw:
    """Noisy copies of one random 2x2-block colour pattern per class: random, yet quick to learn."""
    g = torch.Generator().manual_seed(SPLIT_SEED)
    k, c = SYNTHETIC_SHAPE["classes"], SYNTHETIC_SHAPE["channels"]
    side = DEFAULT_IMAGE_SIZE["synthetic"]
    blocks = torch.randint(0, 256, (k, c, 2, 2), generator=g).float()
    prototypes = blocks.repeat_interleave(side // 2, dim=2).repeat_interleave(side // 2, dim=3)

    def sample(n: int) -> Pair:
        y = torch.arange(n) % k
        noise = torch.randn((n, c, side, side), generator=g) * 32.0
        x = (prototypes[y] + noise).clamp(0, 255).round().to(torch.uint8)
        return x, y

    s = SYNTHETIC_SHAPE
    return sample(s["train"]), sample(s["val"]), sample(s["test"]), [f"class{i}" for i in range(k)]


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    from torchvision.transforms.v2 import functional as TF

    chunks = [TF.resize(c, [size, size], antialias=True) for c in x.split(4096)]
    return torch.cat(chunks) if chunks else x.new_empty((0, x.shape[1], size, size))


def _channel_stats(x: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    # integer sums of the uint8 pixels: exact, and 4x faster than float64 on CIFAR-10
    total = torch.zeros(x.shape[1], dtype=torch.int64)
    squares = torch.zeros(x.shape[1], dtype=torch.int64)
    for chunk in x.split(4096):
        wide = chunk.to(torch.int64)
        total += wide.sum(dim=(0, 2, 3))
        squares += (wide * wide).sum(dim=(0, 2, 3))
    count = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total.to(torch.float64) / (count * 255.0)
    second = squares.to(torch.float64) / (count * 255.0 * 255.0)
    std = (second - mean * mean).clamp_min(1e-12).sqrt().clamp_min(1e-3)
    return tuple(mean.tolist()), tuple(std.tolist())


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# ----------------------------------------------------------------------------------------------
# Batch augmentation on uint8 tensors held on the training device.


def make_batch_augment(
    augment: str,
    *,
    hflip: bool,
    crop_padding: int,
    random_erasing: float = 0.0,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function augmenting a uint8 batch (N, C, H, W), every image with its own random draw.

    augment: "none"; "flip_crop" (random crop after zero padding by `crop_padding` pixels, and a
    horizontal flip with probability 1/2 when `hflip`); "trivialaugment" / "randaugment" (flip_crop,
    then torchvision's TrivialAugmentWide / RandAugment). `random_erasing` is the probability of
    torchvision's RandomErasing per image. Randomness comes from torch's global generator.
    """
    from torchvision.transforms import v2

    policies = {"trivialaugment": v2.TrivialAugmentWide, "randaugment": v2.RandAugment}
    if augment not in ("none", "flip_crop", *policies):
        raise ValueError(f"unknown augment {augment!r}")
    policy = policies[augment]() if augment in policies else None
    eraser = v2.RandomErasing(p=1.0, value=0) if random_erasing > 0 else None

    def apply(x: torch.Tensor) -> torch.Tensor:
        if augment != "none":
            x = crop_flip(x, crop_padding, hflip)
        if policy is not None:
            # v2 transforms draw one set of parameters per call: one call per image keeps draws independent
            x = torch.stack([policy(img) for img in x])
        if eraser is not None:
            chosen = (torch.rand(len(x), device=x.device) < random_erasing).nonzero().flatten()
            if len(chosen):
                x = x.clone()
                for i in chosen.tolist():
                    x[i] = eraser(x[i])
        return x

    return apply


def crop_flip(x: torch.Tensor, padding: int, hflip: bool) -> torch.Tensor:
    """Per-image random crop of the zero-padded batch, and per-image horizontal flip, in one gather.

    Written here rather than with v2.RandomCrop/RandomHorizontalFlip because those draw one crop and
    one flip per call, i.e. the same for the whole batch, and a call per image costs ~100x more.
    """
    n, c, h, w = x.shape
    device = x.device
    rows = torch.arange(h, device=device).expand(n, h)
    cols = torch.arange(w, device=device).expand(n, w)
    if padding > 0:
        x = F.pad(x, (padding, padding, padding, padding))
        rows = rows + torch.randint(0, 2 * padding + 1, (n, 1), device=device)
        cols = cols + torch.randint(0, 2 * padding + 1, (n, 1), device=device)
    if hflip:
        flip = torch.rand(n, 1, device=device) < 0.5
        cols = torch.where(flip, cols.flip(1), cols)
    if padding == 0 and not hflip:
        return x
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=device).view(1, c, 1, 1)
    return x[batch, channel, rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
