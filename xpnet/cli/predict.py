"""``xpnet predict``: a saved network's classes for the user's images, read from an IDX file
or a .npy array (a picture, a zip archive or a pickle is refused saying how to convert it)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .. import checkpoint, datasets, files
from ..idx import read_images
from .parser import IMAGES_WANTED, INPUTS
from .paths import check_model_file, saved_network

log = logging.getLogger("xpnet")


#: the first bytes of picture files that predict refuses with a way to convert them
PICTURE_FORMATS = {b"\x89PNG": "PNG", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"BM": "BMP",
                   b"II*\x00": "TIFF", b"MM\x00*": "TIFF"}
#: how far float pixels may stray outside [0, 1] (rounding) before they are refused; those
#: within it are clipped to [0, 1]
PIXEL_SLACK = 0.01


def cmd_predict(args) -> None:
    check_model_file("MODEL", args.model, "a network")
    npy = _check_images_file(args.images, args.model)  # (before the model is read, or CuPy)
    net = saved_network(args.model, args.backend)[0]
    X, read_as = _images(args.images, npy, net.sizes[0])
    if X.shape[1] != net.sizes[0]:
        raise ValueError(
            f"{args.images} holds images of {X.shape[1]:,} pixels, but {args.model} holds a "
            f"{'-'.join(map(str, net.sizes))} network, which takes {net.sizes[0]:,}: give "
            f"images of {net.sizes[0]:,} pixels" + (", 28x28 as MNIST's"
                                                     if net.sizes[0] == INPUTS else ""))
    outputs = net.forward(X, batch_size=args.batch_size)
    classes = net.backend.to_numpy(net.classes(outputs))
    log.info("%s: %s image%s (%s), classified by the %s network of %s on %s", args.images,
             f"{len(X):,}", "s" if len(X) != 1 else "", read_as,
             "-".join(map(str, net.sizes)), args.model, net.backend.name)
    lines: Iterable[str]
    if args.probabilities:
        rows = net.backend.to_numpy(outputs)
        lines = (f"{label} " + " ".join(f"{value:.6g}" for value in row)
                 for label, row in zip(classes.tolist(), rows.tolist()))
    else:
        lines = map(str, classes.tolist())
    sys.stdout.write("".join(f"{line}\n" for line in lines))


def _check_images_file(path: Path, model: Path) -> bool:
    """Whether predict's FILE is a .npy array (else an IDX file), told by its first bytes,
    after the checks that need only those: it exists, is a regular file, and is neither a
    zip archive (an .npz: the model given second, when MODEL is none, else images saved with
    np.savez) nor, named .npy, anything but a .npy array."""
    with _open_images(path) as f:
        start = f.read(len(np.lib.format.MAGIC_PREFIX))
    if start.startswith(b"PK\x03\x04"):  # a zip archive: a .npz
        # (the arguments swapped: the model second, and images, or nothing zipped, first)
        if not _is_zip(model) or (checkpoint.is_checkpoint(path)
                                  and not checkpoint.is_checkpoint(model)):
            raise ValueError(f"{path} is a zip archive (an .npz, such as a checkpoint), not "
                             f"images: give the model first, then the images: {IMAGES_WANTED}")
        raise ValueError(f"{path} is a zip archive (an .npz, as np.savez and xpnet train --save "
                         "write), which predict does not read images from: save the images "
                         "with np.save(FILE, images), a .npy of one array, or give an IDX "
                         "image file")
    if start == np.lib.format.MAGIC_PREFIX:
        return True
    kind = next((kind for magic, kind in PICTURE_FORMATS.items() if start.startswith(magic)),
                None)
    if kind is not None:  # (a digit drawn in an image editor: "not an IDX file" told no way on)
        raise ValueError(f"{path} is a {kind} picture, which predict does not read: save it as "
                         "a .npy of 28x28 gray pixels, with Pillow for one: np.save('digit.npy', "
                         "np.asarray(Image.open(FILE).convert('L').resize((28, 28)))). MNIST's "
                         "digits are light on dark: for a dark digit on white, save 255 minus "
                         "that array")
    if path.suffix.lower() == ".npy":  # (not read as IDX: "not an IDX file" would puzzle)
        raise ValueError(f"{path} is not a .npy file: it does not start with the .npy format's "
                         "header (a pickle, written by pickle.dump?): save the images with "
                         "np.save(FILE, images), a plain array of numbers")
    return False


def _open_images(path: Path) -> BinaryIO:
    """predict's FILE open for reading, if it exists and is a regular file, else ValueError:
    one open (files.open_regular), so that a named pipe put there after a check of the name
    is refused, not waited for. Opened again to read the images: checked in each open."""
    if not path.exists():
        raise ValueError(f"FILE {path}: no such file; give {IMAGES_WANTED}")
    try:
        return files.open_regular(path)
    except files.NotRegularFile:
        raise _not_regular_images(path) from None


def _not_regular_images(path: Path) -> ValueError:
    """The error for predict's FILE where it is no regular file."""
    return ValueError(f"{path} is not a regular file but a folder, a device or a pipe; give "
                      f"{IMAGES_WANTED}")


def _is_zip(path: Path) -> bool:
    """Whether ``path`` is a readable file that starts as a zip archive (an .npz) does."""
    try:
        with path.open("rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _images(path: Path, npy: bool, inputs: int) -> tuple[np.ndarray, str]:
    """The images of predict's FILE, a .npy array (``npy``, as :func:`_check_images_file`
    found) or an IDX file, as the training images are given to a network (rows of float32
    pixels in [0, 1]); and how they were read, for the summary. ``inputs``: the network's,
    which tells one (28, 28) image from 28 images of 28 pixels."""
    if npy:
        return _npy_images(path, inputs)
    try:
        return read_images(path), "IDX, pixels 0-255, divided by 255"
    except datasets.DatasetError as error:
        raise datasets.DatasetError(f"{error}; give {IMAGES_WANTED}") from None
    except files.NotRegularFile:  # (a pipe put there since _check_images_file's open)
        raise _not_regular_images(path) from None


def _npy_images(path: Path, inputs: int) -> tuple[np.ndarray, str]:
    """:func:`_images` of a .npy file: read without pickles, shaped into rows (one image of
    (28, 28) or (784,), or N of (N, 28, 28), (N, 784) or with one channel, (N, 1, 28, 28) or
    (N, 28, 28, 1)), scaled as the training images are
    (whole numbers 0-255 divided by 255; floats in [0, 1] taken as they are, those within
    PIXEL_SLACK outside it clipped to it)."""
    file = _open_images(path)  # (np.load of the name waited for a pipe put there)
    try:
        with file:
            array = np.load(file, allow_pickle=False)
    except MemoryError:
        raise ValueError(f"{path}: its array needs more memory than is free: the file is "
                         "damaged, or too large for this machine (give fewer images at a "
                         "time)") from None
    except Exception as error:  # what numpy's .npy reader raises for each damage
        if str(error).startswith("Object arrays"):  # (loading it would run its pickles)
            raise ValueError(f"{path} holds Python objects (pickled), which xpnet never loads "
                             "(loading them could run any code): save the images as "
                             "numbers, e.g. np.save(FILE, images.astype(np.uint8))") from None
        # (numpy's advice to allow pickles for a header too long is none for a file of
        # unknown origin: told as a checkpoint's is)
        raise ValueError(f"{path} is a damaged .npy file ({checkpoint.why_unreadable(error)}): "
                         "save the images again with np.save") from None
    shape = array.shape
    if array.size == 0:
        raise ValueError(f"{path} holds no images: its array's shape is {shape}")
    if array.ndim == 1 or (array.ndim == 2 and shape[0] == shape[1] != inputs
                           and array.size == inputs):
        array = array.reshape(1, -1)  # one image, (784,) or square, (28, 28)
    elif array.ndim == 3 or (array.ndim == 4 and 1 in (shape[1], shape[3])):
        # (N, 28, 28), or one channel: PyTorch's (N, 1, 28, 28), Keras's (N, 28, 28, 1)
        array = array.reshape(len(array), -1)
    elif array.ndim != 2:
        raise ValueError(f"{path} holds an array of shape {shape}, not images: give (N, 28, 28), "
                         "(N, 1, 28, 28), (N, 28, 28, 1) or (N, 784) for N images, (28, 28) or "
                         "(784,) for one")
    kind = array.dtype.kind
    low: float  # (an int for whole numbers)
    high: float
    if kind in "iu":  # whole numbers: pixels 0-255, as MNIST's files hold them
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(f"{path} holds whole numbers from {low} to {high}, but pixels are "
                             "0-255 (uint8): scale them to 0-255, or to floats in [0, 1]")
        if high == 1:  # (0/1 images, divided by 255, are all but black to the network)
            log.warning("%s holds whole numbers 0 and 1 only, taken as pixels 0-255 (dark "
                        "grey at most); for black-and-white images give 0 and 255, or floats "
                        "0.0 and 1.0", path)
        read_as = f".npy of {array.dtype} pixels 0-255, divided by 255"
        return datasets.scaled(array.astype(np.uint8, copy=False)), read_as
    if kind != "f":
        raise ValueError(f"{path} holds {array.dtype} values, not pixels: give whole numbers "
                         "0-255 (uint8) or floats in [0, 1]")
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(f"{path} holds {np.count_nonzero(~finite):,} NaN or infinite "
                         "values: pixels are numbers in [0, 1] (or whole numbers 0-255)")
    low, high = float(array.min()), float(array.max())
    if low < -PIXEL_SLACK or high > 1 + PIXEL_SLACK:
        raise ValueError(
            f"{path} holds floats from {low:g} to {high:g}, but a network takes pixels in "
            f"[0, 1], as it was trained (0-255 divided by 255): " + (
                "these look like pixels 0-255: divide them by 255, or save them as whole "
                "numbers, np.save(FILE, images.astype(np.uint8)), which xpnet divides by 255"
                if low >= 0 and high <= 255 else "scale them to [0, 1] (not standardized: "
                "no mean subtracted)"))
    outside = np.count_nonzero((array < 0) | (array > 1)) if low < 0 or high > 1 else 0
    pixels = array.astype(np.float32, copy=False)  # (np.load's own array: clipped in place)
    np.clip(pixels, 0, 1, out=pixels)  # (training never saw a pixel outside [0, 1])
    return pixels, f".npy of {array.dtype} pixels in [0, 1]" + (
        f", {outside:,} just outside it clipped to it" if outside else "")
