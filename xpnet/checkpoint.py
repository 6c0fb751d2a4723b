"""Save and load networks and training state as one ``.npz`` file, safely.

Layout: the array ``theta`` (the flat parameter vector), optional arrays of optimizer state
under ``optimizer/<name>`` and of training state under ``training/<name>`` (the best epoch's
theta), and ``header``: one JSON string with the format name and version, the architecture,
the optimizer's and schedule's scalar state and the training state (epoch, RNG state,
history), which refers to each of those arrays by name; no other array is read. Files are
read with ``allow_pickle=False``, so loading never executes code, and written atomically
(temporary file, fsync, rename; see :mod:`xpnet.files`), so a failed save never damages the
previous checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import reprlib
import zipfile
import zlib
from pathlib import Path
from typing import Any

from .backend import (
    Backend,
    OversizedArray,
    all_finite,
    get_backend,
    host_item,
    is_float_array,
    is_host_array,
    is_number_array,
    open_npz,
    write_npz,
)
from .files import (  # (atomic_write: also xpnet.checkpoint.atomic_write)
    NotRegularFile,
    atomic_write,
    file_path,
    open_regular,
    replaces_another,
)
from .optim import Optimizer

FORMAT = "xpnet-checkpoint"
VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"  # every .npz archive starts with a zip local file header


class CheckpointError(ValueError):
    """A file that is not a readable xpnet checkpoint: damaged, not one at all, or of a format
    version above :data:`VERSION` (a newer xpnet's)."""


def _split_arrays(tree, prefix, arrays):
    """Replace the NumPy arrays in a state dict by {"__array__": key}, collecting them."""
    if isinstance(tree, dict):
        return {k: _split_arrays(v, f"{prefix}/{k}", arrays) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_split_arrays(v, f"{prefix}/{i}", arrays) for i, v in enumerate(tree)]
    if is_host_array(tree):
        arrays[prefix] = tree
        return {"__array__": prefix}
    return host_item(tree)


def _array_names(tree) -> set[str]:
    """The names of the arrays that a state in a header refers to ({"__array__": name}, as
    :func:`_split_arrays` writes them)."""
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return {tree["__array__"]} if isinstance(tree["__array__"], str) else set()
        tree = list(tree.values())
    if not isinstance(tree, list):
        return set()
    return set().union(*(_array_names(item) for item in tree if isinstance(item, (dict, list))))


def _join_arrays(tree, arrays):
    """The inverse of :func:`_split_arrays`."""
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return arrays[tree["__array__"]]
        return {k: _join_arrays(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_join_arrays(v, arrays) for v in tree]
    return tree


def save(path, net, *, optimizer=None, schedule=None, training: dict | None = None,
         metadata: dict | None = None) -> Path:
    """Write ``net`` (and optionally optimizer, schedule and training state) to ``path``,
    replacing a file there only if it is an xpnet checkpoint. The file is ``path`` exactly,
    with no .npz added (``np.savez`` adds one). ``metadata``: JSON-able facts about the run
    to keep with it, such as the dataset's name (``xpnet evaluate`` tests on that dataset
    unless told otherwise): a dict nested at most METADATA_DEPTH (31) deep."""
    import xpnet

    if not isinstance(net, xpnet.Network):
        swapped = isinstance(path, xpnet.Network)  # (torch.save's order: the object first)
        raise TypeError(f"save(path, net) takes the file's path first, then the network; got "
                        f"{type(path).__name__} and {type(net).__name__}"
                        + (": swap them" if swapped else ""))
    # (an optimizer as fit takes one; a schedule as fit's schedule= takes one, with its state:
    # each has a state_dict, so that alone let the two swapped through, into a file that
    # resuming cannot read)
    for name, part, wanted, kind in (
            ("optimizer", optimizer, lambda o: isinstance(o, Optimizer), "xpnet.optim optimizer"),
            ("schedule", schedule, lambda s: hasattr(s, "lr_at") and hasattr(s, "state_dict"),
             "xpnet.schedules schedule")):
        if part is not None and (isinstance(part, type) or not wanted(part)):
            raise TypeError(f"{name}= must be an {kind}, whose state it keeps, got {part!r:.60}"
                            + (" (a class: make one)" if isinstance(part, type) else ""))
    check_metadata(metadata)
    check_savable(net)
    path = file_path(path)
    if replaces_another(path, is_checkpoint):  # (a typo: train.py for the model's file)
        raise ValueError(f"{path} exists and is not an xpnet checkpoint: save replaces only "
                         "the checkpoints it writes; give another path, or remove that file "
                         "first")
    arrays: dict[str, Any] = {"theta": net.backend.to_numpy(net.theta)}  # (and the header)
    if not all_finite(arrays["theta"]):  # (load would refuse the file)
        raise ValueError("this network's weights hold NaN or inf, which no file keeps: its "
                         "training diverged; train it again with a smaller learning rate")
    header = {
        "format": FORMAT, "version": VERSION, "xpnet_version": xpnet.__version__,
        "network": net.config(),
        "optimizer": None if optimizer is None else {
            "name": type(optimizer).__name__,
            "state": _split_arrays(optimizer.state_dict(), "optimizer", arrays)},
        "schedule": None if schedule is None else {
            "name": type(schedule).__name__, "state": schedule.state_dict()},
        "training": _split_arrays(training or {}, "training", arrays),
        "metadata": dict(metadata or {}),
    }
    for name, array in arrays.items():  # (checked before the old file is touched)
        if not is_number_array(array):
            raise TypeError(f"the array {name} to save has dtype {array.dtype}: a checkpoint "
                            f"keeps arrays of numbers or booleans (an array of objects only "
                            f"as a pickle, which load refuses); pass it as numbers "
                            f"(np.asarray(value, dtype=float)), or as a list (value.tolist())")
    arrays["header"] = json.dumps(header)
    if 4 * len(arrays["header"]) > MAX_HEADER_BYTES:  # (a file that load would refuse)
        raise ValueError(f"this checkpoint's header would take {4 * len(arrays['header']):,} "
                         f"bytes, more than the {MAX_HEADER_BYTES:,} that load reads: keep "
                         f"less metadata or training state (a history of fewer epochs)")
    atomic_write(path, lambda f: write_npz(f, arrays))
    return path


def check_savable(net) -> None:
    """Raise ValueError for a network that a file could not name: a file records activations
    and losses by name, and :func:`load` builds xpnet's own again from those names, so a
    user's own class would come back as another or not at all."""
    from .activations import get_activation
    from .losses import LOSSES

    config = net.config()
    parts = [("hidden activation", net.hidden, lambda: get_activation(config["activation"])),
             ("output activation", net.output,
              lambda: get_activation(config["output"], output=True)),
             ("loss", net.loss, lambda: LOSSES[config["loss"]]())]
    for role, part, rebuilt in parts:
        try:
            same = type(rebuilt()) is type(part)
        except (KeyError, TypeError, ValueError):
            same = False
        if not same:
            raise ValueError(f"this network cannot be saved: its {role} {part!r} is not one "
                             f"of xpnet's, which a file names and load() builds again; keep "
                             f"its weights with numpy.save(path, net.backend.to_numpy("
                             f"net.theta)) and build the network in code to load them")


#: How deeply a header's lists and dicts may nest when read (xpnet's own nest 5 deep): deeper
#: ones would end in a RecursionError wherever they are read, at a depth that differs between
#: Pythons (3.12 writes 5000 levels that 3.11 cannot read back)
MAX_HEADER_DEPTH = 32
#: The metadata is a dict inside the header: it may nest one level less
METADATA_DEPTH = MAX_HEADER_DEPTH - 1
#: The most bytes a header may declare (its JSON as a NumPy string, 4 bytes a character: about
#: 600 a recorded epoch, so a history of some 400,000 epochs): a damaged or crafted file may
#: declare far more in a few compressed bytes, which reading would fill (at some 0.6 bytes of
#: memory a byte declared, see backend._Npz.read_text). save refuses a larger header
MAX_HEADER_BYTES = 2**28


def check_metadata(metadata) -> None:
    """Metadata must come back from a checkpoint as it went in: a dict with string keys of
    JSON values (no tuples, which come back as lists; no NaN) nested at most METADATA_DEPTH
    deep, or None. The error names the first entry that would not."""
    if metadata is None:
        return
    if not isinstance(metadata, dict) or _nested_deeper_than(metadata, METADATA_DEPTH):
        problem: str | None = _shown(metadata)
    else:  # (nested a few levels at most: the walk below may recurse)
        problem = _first_unkept(metadata, "metadata")
    if problem is not None:
        raise TypeError(f"metadata must be a dict with string keys of JSON values (strings, "
                        f"finite numbers, bools, None, lists and such dicts, nested at most "
                        f"{METADATA_DEPTH} deep), so that the checkpoints give it back as it "
                        f"is; got {problem}")


def _first_unkept(value, where: str) -> str | None:
    """The first entry of ``value`` (named ``where``) that a checkpoint's JSON would not give
    back as it is, named by its place (a long dict's repr hides its later entries): "metadata
    ['shape'] = (1, 2), of type tuple"; None where every entry is kept."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} with the key {_shown(key)}, of type {type(key).__name__}"
            if (found := _first_unkept(item, f"{where}[{key!r}]")) is not None:
                return found
        return None
    if isinstance(value, list):
        return next((found for i, item in enumerate(value)
                     if (found := _first_unkept(item, f"{where}[{i}]")) is not None), None)
    try:
        kept = bool(json.loads(json.dumps(value, allow_nan=False)) == value)
    except (TypeError, ValueError):  # (not JSON; NaN or inf)
        kept = False
    return None if kept else f"{where} = {_shown(value)}, of type {type(value).__name__}"


def _shown(value) -> str:
    """A short repr of ``value``: a few levels and items of it, whatever its size (a full repr
    of a value that holds one object in many places can take hours)."""
    short = reprlib.Repr()
    short.maxlevel, short.maxdict, short.maxlist, short.maxtuple = 4, 6, 6, 6
    short.maxstring = short.maxother = 60
    return f"{short.repr(value):.200}"


def _nested_deeper_than(value, depth: int) -> bool:
    """Whether lists and dicts nest more than ``depth`` levels in ``value``, found level by
    level without recursion (each object once a level, so a value holding itself ends too)."""
    level = [value]
    for _ in range(depth):
        children = {id(child): child for item in level if isinstance(item, (dict, list, tuple))
                    for child in (item.values() if isinstance(item, dict) else item)}
        level = [child for child in children.values() if isinstance(child, (dict, list, tuple))]
        if not level:
            return False
    return True


def read(path, *, header_only: bool = False) -> tuple[dict, dict]:
    """(header, arrays) of a checkpoint, checked; arrays are host NumPy arrays. With
    ``header_only`` no array is read (arrays is empty): a look at what the file holds."""
    from .network import num_params
    path = Path(path)
    what = f"{path} is not a readable xpnet checkpoint"
    with _archive(path, what) as archive:
        header = _header(archive, what)
        _check_format(header, path, what)
        if header_only:
            return header, {}
        # theta and the arrays the header refers to, no other: each is capped below, but
        # their number only by this (a crafted file's hundreds of extra arrays, a few KiB of
        # zeros each, filled gigabytes). Others are left unread, not refused: a header
        # damaged so that it lost a reference is named by what reads that state (resume)
        wanted = {"theta"} | _array_names(header.get("optimizer")) | \
            _array_names(header.get("training"))
        # every array holds at most one value per parameter (theta, the optimizer's buffers,
        # the best epoch's theta): a larger one is damage, refused before it is read
        most = 8 * num_params(architecture(header, path)["sizes"])
        arrays = {name: archive.read(name, most) for name in archive.names if name in wanted}
    if "theta" not in arrays:
        raise CheckpointError(f"{what}: it has no theta (found {sorted(arrays)})")
    return header, arrays


def _header(archive, what: str):
    """The parsed header of an open checkpoint ``archive``."""
    if "header" not in archive.names:
        raise CheckpointError(f"{what}: it has no xpnet header (found {sorted(archive.names)})")
    return _parse_header(archive.read_text("header", MAX_HEADER_BYTES), what)


def _check_format(header, path: Path, what: str) -> None:
    """CheckpointError unless ``header`` names xpnet's format in a version this xpnet reads."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{what}: its header does not name the format {FORMAT!r}")
    version = header.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{what}: its header has no valid format version ({version!r})")
    if version > VERSION:
        raise CheckpointError(
            f"{path} was written by a newer xpnet (format version {version}); this xpnet reads "
            f"versions up to {VERSION}: upgrade xpnet (pip install -U xpnet)")


@contextlib.contextmanager
def _archive(path: Path, what: str):
    """The .npz at ``path``, open (:func:`xpnet.backend.open_npz`); CheckpointError,
    beginning with ``what``, for anything but a readable .npz, also as it is read."""
    if not path.exists() and (hint := twin_hint(path)):
        raise FileNotFoundError(errno.ENOENT, f"{os.strerror(errno.ENOENT)}{hint}", str(path))
    try:  # (one open: a named pipe put there after a check of the name waited for a writer)
        file = open_regular(path)
    except NotRegularFile:
        raise CheckpointError(f"{what}: it is not a regular file but a folder, a device or a "
                              "pipe; give the file that xpnet.save or `xpnet train --save` wrote"
                              ) from None
    with file:
        if file.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:  # numpy.load would take a .npy file, or
            raise CheckpointError(f"{what}: it is not an .npz (zip) archive, which is what "
                                  "xpnet.save and `xpnet train --save` write")  # guess at a pickle
        file.seek(0)
        try:
            with open_npz(file) as archive:
                yield archive
        except CheckpointError:
            raise
        except OSError as e:  # the disk's errors are not the file's damage, but some are the
            # file's: a seek before its start (a damaged directory offset), bz2's or lzma's bad data
            if e.errno not in (None, errno.EINVAL):
                raise
            raise CheckpointError(f"{what}: the archive is damaged or truncated "
                                  f"({_shortened(str(e))})") from None
        except (zipfile.BadZipFile, EOFError, zlib.error) as e:
            raise CheckpointError(f"{what}: the archive is damaged or truncated "
                                  f"({_shortened(str(e))})") from None
        except MemoryError:
            raise CheckpointError(f"{what}: its arrays need more memory than is free: the file "
                                  "is damaged, or too large for this machine") from None
        except OversizedArray as e:
            raise CheckpointError(f"{what}: it is damaged: {e}") from None
        except Exception as e:  # what zipfile, lzma or numpy's .npy parser raise for damage
            raise CheckpointError(f"{what}: not an .npz archive of plain arrays "
                                  f"({why_unreadable(e)})") from None


def twin_hint(path: Path) -> str:
    """For a missing checkpoint ``path``: " (m.npz exists: did you mean it?)" where the name
    with .npz, or without it, is a file (save writes the name it is given, without adding
    .npz); else ""."""
    twin = path.with_suffix("") if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    return f" ({twin} exists: did you mean it?)" if twin.is_file() else ""


def why_unreadable(error: Exception) -> str:
    """Why a damaged ``.npy`` or ``.npz`` file could not be read, from ``error``, what the
    library that read it raised (numpy's .npy parser, zipfile, lzma), for a message: short
    enough to show, since its text may quote the file's bytes, and without numpy's advice to
    allow pickles (for a header too long, or an array of objects), which is no advice for a
    file of unknown origin."""
    if "allow_pickle" in str(error):
        return "an array header too long to read safely, or Python objects, which xpnet never loads"
    return _shortened(f"{type(error).__name__}: {error}")


def _shortened(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_header(text, what: str):
    """The JSON of a header, of at most MAX_HEADER_DEPTH nested containers."""
    try:
        header = json.loads(str(text))
        too_deep = _nested_deeper_than(header, MAX_HEADER_DEPTH)
    except ValueError as e:
        raise CheckpointError(f"{what}: its header is not valid JSON ({e})") from None
    except RecursionError:
        too_deep = True
    if too_deep:
        raise CheckpointError(f"{what}: its header is nested more than {MAX_HEADER_DEPTH} "
                              "levels deep, which no xpnet header is")
    return header


def is_checkpoint(path) -> bool:
    """Whether ``path`` is an xpnet checkpoint, of any format version, judged by its header
    alone (the arrays are not read)."""
    try:
        with _archive(Path(path), "") as archive:
            header = _header(archive, "")
    except Exception:  # (unreadable, damaged, or no header: not a checkpoint to replace)
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def load(path, backend: str | Backend | None = None):
    """The Network saved at ``path``, on ``backend`` (any backend, whatever it was saved on)."""
    return restore(read(path), backend, path)[0]


def restore(checkpoint: tuple[dict, dict], backend=None, path="the checkpoint"):
    """(network, header, arrays) from :func:`read`'s result (of the file ``path``), the
    architecture and theta checked before the network is built."""
    from .network import Network

    header, arrays = checkpoint
    backend = get_backend(backend)  # its errors are not the file's
    config = architecture(header, path)
    check_theta(arrays["theta"], config["sizes"], f"the theta in {path}")
    try:
        net = Network(**config, backend=backend, seed=None)
    except MemoryError:
        raise CheckpointError(f"{path}: the network it records ({config['sizes']}) needs more "
                              "memory than is free: too large for this machine") from None
    net.set_theta(arrays["theta"])
    return net, header, arrays


def architecture(header: dict, path="the checkpoint") -> dict:
    """The network config (``Network``'s arguments) that a checkpoint's header records,
    checked without building the network; CheckpointError for a damaged one."""
    from .network import checked_architecture

    config = header.get("network")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} is damaged: it records no network architecture")
    try:
        checked_architecture(**config)
    except (TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"{path} is damaged: the architecture it records is invalid "
                              f"({e})") from None
    return config


def check_theta(theta, sizes, what="the checkpoint's theta") -> None:
    """Raise CheckpointError unless ``theta`` (a host array; ``what`` names it) holds the
    finite weights of a network of layer widths ``sizes``."""
    from .network import num_params

    if not is_host_array(theta):
        raise CheckpointError(f"{what} holds {type(theta).__name__} where the weights should "
                              f"be: the file is damaged")
    needed = num_params(sizes)
    if theta.shape != (needed,) or not is_float_array(theta):
        raise CheckpointError(
            f"{what} has shape {theta.shape} and dtype {theta.dtype}, but the architecture "
            f"{sizes} needs ({needed},) floats: the file is damaged")
    if not all_finite(theta):
        raise CheckpointError(f"{what} holds NaN or inf: the file is damaged, or it was "
                              "saved from a network whose training diverged; give another file")


def training_state(header: dict, arrays: dict) -> dict:
    """The training state stored in a checkpoint (epoch, RNG, history, ...), arrays as NumPy."""
    return _join_arrays(header.get("training", {}), arrays)


def metadata(header: dict) -> dict:
    """The metadata saved with a checkpoint ({} for files written without any)."""
    stored = header.get("metadata")
    return stored if isinstance(stored, dict) else {}


def optimizer_state(header: dict, arrays: dict) -> dict | None:
    """The optimizer's state dict stored in a checkpoint (arrays as NumPy), or None."""
    stored = header.get("optimizer")
    return None if stored is None else _join_arrays(stored["state"], arrays)
