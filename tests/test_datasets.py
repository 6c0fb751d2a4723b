"""xpnet.datasets: where a dataset's files are looked for (data_dir, $XPNET_DATA_DIR, the cache,
the system folders) and what is said of a folder passed over; load and its splits (split=, the
validation set); and download() as the dataset-level entry: what it keeps, repairs in xpnet's
cache, or refuses to write over in a folder of the user's.

Downloads are served by conftest's local HTTP server on 127.0.0.1 with small synthetic IDX
files; nothing here touches the internet. The real-MNIST tests read ../shared/data/mnist (or
$XPNET_DATA_DIR/mnist) and fail instead of skipping in CI.
"""

from __future__ import annotations

import errno
import gzip
import inspect
import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    N_TEST,
    N_TRAIN,
    SYNTHETIC,
    SYNTHETIC_SHA256,
    closed_port_url,
    flipped,
    idx_bytes,
    leftovers,
    sha256s,
    write_dataset,
)

from xpnet import datasets, idx
from xpnet import download as download_module
from xpnet.datasets import (
    DatasetNotFoundError,
    download,
    load,
    load_fashion_mnist,
    load_mnist,
)
from xpnet.idx import FILES, DatasetError

pytestmark = pytest.mark.usefixtures("isolated_env")


#: another dataset, to stand for Fashion-MNIST: each file's last byte (a pixel or a label) one
#: more, modulo 10
SYNTHETIC_FASHION = {stem: data[:-1] + bytes([(data[-1] + 1) % 10])
                     for stem, data in SYNTHETIC.items()}


@pytest.fixture
def synthetic_fashion(monkeypatch):
    """xpnet's own checksums made those of SYNTHETIC (as MNIST) and SYNTHETIC_FASHION (as
    Fashion-MNIST), and no system folders; returns SYNTHETIC_FASHION."""
    monkeypatch.setattr(idx, "CHECKSUMS", {"mnist": SYNTHETIC_SHA256,
                                           "fashion-mnist": sha256s(SYNTHETIC_FASHION)})
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())  # not this machine's real copies
    return SYNTHETIC_FASHION


# -- loading from folders -------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["gzip, directly", "raw, in <name>/"])
def test_load_from_data_dir(tmp_path, layout):
    compress = layout.startswith("gzip")
    folder = tmp_path / "data" if compress else tmp_path / "data" / "mnist"
    write_dataset(folder, compress=compress)
    (x_train, y_train), (x_test, y_test) = load_mnist(
        data_dir=tmp_path / "data", checksums=SYNTHETIC_SHA256, download=False)
    assert x_train.shape == (N_TRAIN, 784) and x_test.shape == (N_TEST, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    expected = np.frombuffer(SYNTHETIC[FILES[0]], np.uint8, offset=16).reshape(N_TRAIN, 784)
    np.testing.assert_array_equal(x_train, expected / np.float32(255))
    np.testing.assert_array_equal(y_test, np.frombuffer(SYNTHETIC[FILES[3]], np.uint8, offset=8))


def test_images_and_validation_split(tmp_path):
    write_dataset(tmp_path)
    (x_train, y_train), (x_test, _) = load("mnist", data_dir=tmp_path, flatten=False,
                                           checksums=SYNTHETIC_SHA256)
    assert x_train.shape == (N_TRAIN, 28, 28) and x_test.shape == (N_TEST, 28, 28)
    train, valid, test = load("mnist", data_dir=tmp_path, validation=5,
                              checksums=SYNTHETIC_SHA256)
    assert len(train[0]) == len(train[1]) == N_TRAIN - 5 and len(test[1]) == N_TEST
    np.testing.assert_array_equal(valid[1], y_train[-5:])  # the last training examples
    np.testing.assert_array_equal(valid[0], x_train[-5:].reshape(5, 784))
    too_many = r"the validation set must be smaller than the 30 training examples"
    for bad, error, message in [(-1, ValueError, too_many), (N_TRAIN, ValueError, too_many),
                                (True, ValueError, too_many),  # 10,000: more than the 30
                                (2.5, TypeError, r"validation must be True .* got 2\.5")]:
        with pytest.raises(error, match=message):  # (not numpy's "slice indices must be ...")
            load("mnist", data_dir=tmp_path, validation=bad, checksums=SYNTHETIC_SHA256)


@pytest.mark.parametrize("split, unread", [("test", FILES[0]), ("train", FILES[3])])
def test_a_split_reads_its_own_files_only(split, unread, tmp_path):
    """split="test" (what `xpnet evaluate` needs) neither decompresses nor verifies the
    training files, six times its size; split="train" not the test files."""
    contents = dict(SYNTHETIC)
    contents[unread] = flipped(SYNTHETIC[unread])  # would fail verification if read
    write_dataset(tmp_path, contents=contents)
    with pytest.raises(DatasetError, match=unread):  # (all four read)
        load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256)
    images, labels = (SYNTHETIC[stem] for stem in datasets.SPLITS[split])
    X, y = load("mnist", split=split, data_dir=tmp_path, flatten=False,
                checksums=SYNTHETIC_SHA256)
    np.testing.assert_array_equal(X, np.frombuffer(images, np.uint8, offset=16).reshape(
        -1, 28, 28) / np.float32(255))
    np.testing.assert_array_equal(y, np.frombuffer(labels, np.uint8, offset=8))
    assert X.dtype == np.float32 and y.dtype == np.int64


def test_the_training_split_holds_out_its_validation_set(tmp_path):
    write_dataset(tmp_path)
    (x_train, y_train), _ = load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256)
    train, valid = load("mnist", split="train", validation=5, data_dir=tmp_path,
                        checksums=SYNTHETIC_SHA256)
    np.testing.assert_array_equal(train[0], x_train[:-5])
    np.testing.assert_array_equal(valid[1], y_train[-5:])
    with pytest.raises(ValueError, match=r"validation=5 holds out training examples, which "
                                         r"split='test' does not read"):
        load("mnist", split="test", validation=5, data_dir=tmp_path, checksums=SYNTHETIC_SHA256)


@pytest.mark.parametrize("split, error", [("validation", ValueError), ("Test", ValueError),
                                          (1, TypeError), (["test"], TypeError)])
def test_an_unknown_split_is_named(split, error, tmp_path):
    write_dataset(tmp_path)
    with pytest.raises(error, match=r"split must be 'train', 'test' or None \(both\), got "):
        load("mnist", split=split, data_dir=tmp_path, checksums=SYNTHETIC_SHA256)


def test_a_split_is_read_from_a_folder_of_all_four_files_or_downloaded(tmp_path, server,
                                                                       requests):
    """As load without split=: the search passes over a folder that lacks a file (of the
    other split too), and the download fetches all four files, which the next load finds."""
    lacking = write_dataset(tmp_path / "lacking")
    (lacking / f"{FILES[0]}.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="lacks train-images-idx3-ubyte.gz"):
        load("mnist", split="test", data_dir=lacking, checksums=SYNTHETIC_SHA256,
             download=False)
    X, _ = load("mnist", split="test", data_dir=tmp_path / "data", checksums=SYNTHETIC_SHA256,
                mirrors=[f"{server}/good/"], progress=False)
    assert len(X) == N_TEST and len(requests) == len(FILES)
    assert sorted(path.name for path in (tmp_path / "data" / "mnist").iterdir()) == \
        sorted(f"{stem}.gz" for stem in FILES)


def test_search_order(tmp_path, monkeypatch):
    damaged = dict(SYNTHETIC)
    damaged[FILES[1]] = flipped(SYNTHETIC[FILES[1]])
    write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    write_dataset(tmp_path / "cache" / "xpnet" / "mnist", contents=damaged)
    # $XPNET_DATA_DIR comes before the damaged cache ...
    assert len(load("mnist", checksums=SYNTHETIC_SHA256, download=False)) == 2
    # ... and an explicit data_dir before $XPNET_DATA_DIR.
    write_dataset(tmp_path / "explicit", contents=damaged)
    with pytest.raises(DatasetError, match=str(tmp_path / "explicit")):
        load("mnist", data_dir=tmp_path / "explicit", checksums=SYNTHETIC_SHA256)
    assert datasets.search_dirs("mnist", tmp_path / "explicit")[:5] == [
        tmp_path / "explicit", tmp_path / "explicit" / "mnist", tmp_path / "env" / "mnist",
        tmp_path / "env", tmp_path / "cache" / "xpnet" / "mnist"]


def test_find_names_the_folder_load_reads(tmp_path, monkeypatch):
    """Where `load` would read the data without a download, by the same rules: a damaged
    cache is passed over (a download repairs it), a damaged file elsewhere is named (a
    download into the cache would not help: load would still stop at that file)."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) is None
    damaged = dict(SYNTHETIC)
    damaged[FILES[1]] = flipped(SYNTHETIC[FILES[1]])
    cache = write_dataset(tmp_path / "cache" / "xpnet" / "mnist", contents=damaged)
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) is None
    write_dataset(cache)
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) == cache
    env = write_dataset(tmp_path / "env" / "mnist", contents=damaged)
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    with pytest.raises(DatasetError, match=re.escape(str(env / f"{FILES[1]}.gz"))):
        datasets.find("mnist", checksums=SYNTHETIC_SHA256)
    write_dataset(env)  # repaired: it comes before the cache
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) == env
    explicit = write_dataset(tmp_path / "explicit")
    assert datasets.find("mnist", explicit, checksums=SYNTHETIC_SHA256) == explicit
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):  # (was a KeyError)
        datasets.find("cifar")


def test_data_dir_variable_may_name_the_dataset_folder_itself(tmp_path, monkeypatch):
    """$XPNET_DATA_DIR=.../mnist (the files' own folder) was not searched, as --data-dir is."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "mnist"))
    (_, y_train), _ = load("mnist", checksums=SYNTHETIC_SHA256, download=False)
    np.testing.assert_array_equal(y_train,
                                  np.frombuffer(SYNTHETIC[FILES[1]], np.uint8, offset=8))
    # another dataset does not look into it (nor hash its files)
    assert tmp_path / "mnist" not in datasets.search_dirs("fashion-mnist")


def test_a_data_dir_variable_that_holds_the_files_itself_is_read(tmp_path, monkeypatch, server,
                                                                 requests, caplog,
                                                                 synthetic_fashion):
    """XPNET_DATA_DIR=~/digits, the files' own folder, as --data-dir may be: only
    ~/digits/mnist/ was searched, and the files downloaded into the cache without a word."""
    env = write_dataset(tmp_path / "digits")
    monkeypatch.setenv("XPNET_DATA_DIR", str(env))
    options = {"mirrors": [f"{server}/good"], "progress": False}
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        assert datasets.load_with_folder("mnist", **options)[1] == env
        assert datasets.search_dirs("mnist")[:2] == [env / "mnist", env]
        write_dataset(env / "mnist")  # its mnist/ first
        assert datasets.load_with_folder("mnist", **options)[1] == env / "mnist"
        # where it holds another dataset's files (an ordinary place to keep them), they are
        # passed over without a warning
        fashion = write_dataset(datasets.cache_dir("fashion-mnist"), contents=synthetic_fashion)
        assert datasets.search_dirs("fashion-mnist")[:3] == [env / "fashion-mnist", env,
                                                             fashion]
        assert datasets.load_with_folder("fashion-mnist", **options)[1] == fashion
    assert requests == [] and caplog.records == []


def test_files_of_an_unknown_dataset_in_the_data_dir_variable_itself_are_passed_over(
        tmp_path, monkeypatch, caplog, synthetic_fashion):
    """XPNET_DATA_DIR=~/data holding Kuzushiji-MNIST's files directly (published under MNIST's
    names) stopped load("mnist") and load("fashion-mnist"), read from the cache until
    $XPNET_DATA_DIR itself was searched, with advice to delete the user's files."""
    unknown = {stem: flipped(data) for stem, data in SYNTHETIC.items()}  # (no known dataset's)
    env = write_dataset(tmp_path / "data", contents=unknown)
    monkeypatch.setenv("XPNET_DATA_DIR", str(env))
    # where no other folder holds the dataset, the error lists the file with the reason
    with pytest.raises(DatasetNotFoundError) as error:
        load("mnist", download=False)
    lines = str(error.value).splitlines()
    skipped = lines.index("Skipped, as they hold another dataset (or, in $XPNET_DATA_DIR "
                          "itself, a file that fails verification):")
    assert lines[skipped + 1].startswith(f"  {env / FILES[0]}.gz: SHA-256 of its IDX data")
    cached = {"mnist": write_dataset(datasets.cache_dir("mnist")),
              "fashion-mnist": write_dataset(datasets.cache_dir("fashion-mnist"),
                                             contents=synthetic_fashion)}
    for name, cache in cached.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="xpnet"):
            assert datasets.load_with_folder(name, download=False)[1] == cache
        (message,) = [record.getMessage() for record in caplog.records]
        assert message.startswith(f"{env / FILES[0]}.gz: SHA-256 of its IDX data")
        assert "Delete the file" not in message
        assert message.endswith(f"passed over, as $XPNET_DATA_DIR itself may hold another "
                                f"dataset's files; {idx.TITLES[name]} from {cache} instead")
    # given as --data-dir too, the folder is the user's choice: its damaged file is an error
    with pytest.raises(DatasetError, match="Delete the file"):
        load("mnist", data_dir=env, download=False)
    # and its other dataset's files are warned of, as for any --data-dir (they were not)
    write_dataset(env, contents=synthetic_fashion)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        assert datasets.load_with_folder("mnist", data_dir=env,
                                         download=False)[1] == cached["mnist"]
    (message,) = [record.getMessage() for record in caplog.records]
    assert message.startswith(f"{env / FILES[0]}.gz is Fashion-MNIST's")


def test_a_folder_given_twice_is_searched_and_listed_once(tmp_path, monkeypatch):
    """--data-dir DIR with XPNET_DATA_DIR=DIR (one relative, the other not): "Looked in" listed
    DIR and DIR/mnist twice each."""
    monkeypatch.chdir(tmp_path)
    partial = tmp_path / "data" / "mnist"
    partial.mkdir(parents=True)
    (partial / f"{FILES[0]}.gz").write_bytes(gzip.compress(SYNTHETIC[FILES[0]]))
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "data"))
    assert datasets.search_dirs("mnist", "data")[:3] == [
        Path("data"), Path("data") / "mnist", tmp_path / "cache" / "xpnet" / "mnist"]
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", data_dir="data", checksums=SYNTHETIC_SHA256, download=False)
    assert str(caught.value).count(f"{partial.name} (lacks") == 1


@pytest.mark.parametrize("variable, cache", [
    ("~/mine", "home/mine"), ("cache", "home/.cache"), ("", "home/.cache"),
    ("~no-such-user-of-xpnet/cache", "home/.cache"),
])
def test_the_cache_variable_in_the_home_folder_or_relative(variable, cache, tmp_path,
                                                          monkeypatch, server):
    """XDG_CACHE_HOME="~/mine" (from a file no shell reads) made a folder "~" in the working
    folder, and XDG_CACHE_HOME=cache a new cache in each working folder, downloaded again
    there; the XDG specification says to ignore a relative path. "~user/cache" of no such
    user (a typo) is no path either: it stopped every load with pathlib's bare "RuntimeError:
    Could not determine home directory", even with --data-dir holding the files."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", variable)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert datasets.cache_dir("mnist") == tmp_path / cache / "xpnet" / "mnist"
    assert datasets.load_with_folder("mnist", split="test", mirrors=[f"{server}/good"],
                                     checksums=SYNTHETIC_SHA256, progress=False)[1] == \
        tmp_path / cache / "xpnet" / "mnist"
    assert leftovers(work) == []


def test_missing_without_download_lists_places_and_remedies(tmp_path, server, requests):
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", data_dir=tmp_path / "nowhere", download=False, mirrors=[f"{server}/good"])
    message = str(caught.value)
    for folder in datasets.search_dirs("mnist", tmp_path / "nowhere"):
        assert str(folder) in message
    for remedy in ("--data-dir", "XPNET_DATA_DIR", str(tmp_path / "cache" / "xpnet" / "mnist"),
                   "xpnet download mnist", "download=False"):
        assert remedy in message
    assert requests == []


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load("cifar")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("download", "no", "download must be True or False, got 'no'"),  # (true: it downloaded)
    ("flatten", "no", "flatten must be True or False"),
    ("progress", 3, "progress must be True or False"),
    ("validation", "yes", "validation must be True .* got 'yes'"),  # (after reading the files,
    ("validation", 1.5, "validation must be True .* got 1.5"),  # Python's "cannot be inter-
    ("mirrors", 3, "mirrors must be a base URL or a list of them"),  # preted as an integer")
    ("mirrors", [3], "mirrors must be a base URL or a list of them"),
])
def test_load_options_of_the_wrong_type_are_type_errors_before_anything_is_read(
        tmp_path, requests, monkeypatch, option, value, message):
    monkeypatch.setattr(datasets, "_search", lambda *a: pytest.fail("the files were read"))
    with pytest.raises(TypeError, match=message):
        load("mnist", data_dir=tmp_path, **{option: value})
    assert requests == []


def test_download_function_into_data_dir_keeps_intact_and_refuses_damaged(
        tmp_path, server, requests, capsys):
    folder = download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                      checksums=SYNTHETIC_SHA256, progress=True)
    assert folder == tmp_path / "mnist"
    assert len(requests) == len(FILES)
    assert "B/s" in capsys.readouterr().err  # the tqdm bytes bar
    requests.clear()
    assert download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                    checksums=SYNTHETIC_SHA256, progress=False) == folder
    assert requests == [] and capsys.readouterr().err == ""
    # a folder of the user's: a damaged file there is named, not downloaded over (it used to be)
    damaged_path = folder / f"{FILES[3]}.gz"
    damaged = gzip.compress(flipped(SYNTHETIC[FILES[3]]))
    damaged_path.write_bytes(damaged)
    with pytest.raises(DatasetError, match=f"{damaged_path}: SHA-256"):
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert requests == [] and damaged_path.read_bytes() == damaged


def test_a_damaged_file_in_the_cache_is_downloaded_again(tmp_path, server, requests, caplog):
    """The cache is xpnet's own: load(download=True) used to stop at a damaged file there
    with advice to delete it. A damaged file in the user's own folder is still reported."""
    cache = write_dataset(tmp_path / "cache" / "xpnet" / "mnist")
    (cache / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    with caplog.at_level("WARNING", logger="xpnet"):
        (x_train, _), _ = load("mnist", mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256,
                               progress=False)
    assert x_train.shape == (N_TRAIN, 784)
    assert requests == [f"/good/{FILES[2]}.gz"]  # only the damaged file
    assert gzip.decompress((cache / f"{FILES[2]}.gz").read_bytes()) == SYNTHETIC[FILES[2]]
    assert "damaged file in xpnet's cache, to be downloaded again" in caplog.text
    assert "Delete" not in caplog.text
    # with no mirror working, the error names the damage, not only "not found"
    (cache / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    with pytest.raises(DatasetNotFoundError, match=r"(?s)Damaged, to be downloaded into "
                                                   rf"xpnet's cache:\n  {cache}/{FILES[2]}\.gz: "
                                                   "SHA-256"):
        load("mnist", mirrors=[closed_port_url()], checksums=SYNTHETIC_SHA256, progress=False)
    own = write_dataset(tmp_path / "own" / "mnist")
    (own / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    with pytest.raises(DatasetError, match="SHA-256"):
        load("mnist", data_dir=own, mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256)
    (cache / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    with pytest.raises(DatasetError, match="SHA-256"):  # nor without leave to download
        load("mnist", checksums=SYNTHETIC_SHA256, download=False)


def test_a_damaged_file_in_a_system_folder_is_passed_over_for_a_download_into_the_cache(
        tmp_path, server, requests, monkeypatch, caplog):
    """/usr/share/datasets/fashion-mnist/ damaged (the user may not write it): load stopped
    there, with advice to delete the file, and so did `xpnet download` (its find), though the
    cache, searched first, could take the files."""
    system = write_dataset(tmp_path / "system" / "mnist")
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", (tmp_path / "system",))
    (system / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    before = {path.name: path.read_bytes() for path in system.iterdir()}
    with pytest.raises(DatasetError, match=f"{FILES[2]}.gz: SHA-256") as refused:  # (no leave
        load("mnist", checksums=SYNTHETIC_SHA256, download=False)  # to download)
    # (not "Delete the file", which the user may not: a download goes around it)
    assert "Delete" not in str(refused.value) and str(refused.value).endswith(
        "It lies in a system folder, which xpnet never writes: `xpnet download` (download=True) "
        "puts an intact copy in a folder searched before it; or reinstall the package that "
        "installed it")
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) is None
    with caplog.at_level("WARNING", logger="xpnet"):
        folder = datasets.load_with_folder("mnist", mirrors=[f"{server}/good"],
                                           checksums=SYNTHETIC_SHA256, progress=False)[1]
    assert folder == datasets.cache_dir("mnist") and len(requests) == len(FILES)
    assert (f"a damaged file in a system folder, passed over for a download into xpnet's cache "
            f"unless another folder holds the dataset: {system}/{FILES[2]}.gz: SHA-256"
            in caplog.text) and "Delete" not in caplog.text
    assert {path.name: path.read_bytes() for path in system.iterdir()} == before
    requests.clear()  # the cache, searched first, now answers
    assert datasets.find("mnist", checksums=SYNTHETIC_SHA256) == folder and requests == []


def test_download_into_a_folder_that_holds_the_files_keeps_them_there(tmp_path, server,
                                                                       requests):
    """`--data-dir DIR` with the files in DIR itself: load accepts it, and download used to
    fetch everything again into DIR/mnist."""
    write_dataset(tmp_path)
    assert download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                    checksums=SYNTHETIC_SHA256, progress=False) == tmp_path
    assert requests == [] and not (tmp_path / "mnist").exists()
    # the same names, other content: refused as load refuses it, not downloaded around (into
    # DIR/mnist, which load would never reach: DIR is searched first), and not touched
    other = write_dataset(tmp_path / "other", contents={
        stem: flipped(data) for stem, data in SYNTHETIC.items()})
    before = {path.name: path.read_bytes() for path in other.iterdir()}
    for fetch in (lambda: download("mnist", data_dir=other, mirrors=[f"{server}/good"],
                                   checksums=SYNTHETIC_SHA256, progress=False),
                  lambda: load("mnist", data_dir=other, checksums=SYNTHETIC_SHA256,
                               download=False)):
        with pytest.raises(DatasetError, match=r"other/train-images-idx3-ubyte.gz: SHA-256 .* "
                                               r"with --data-dir for a folder of yours"):
            fetch()
    assert requests == [] and not (other / "mnist").exists()
    assert {path.name: path.read_bytes() for path in other.iterdir()} == before


def test_download_accepts_a_data_dir_as_load_does(tmp_path, server, requests):
    """A damaged .gz beside an intact uncompressed copy: load reads the copy, and download
    used to fetch all four files into DIR/mnist."""
    write_dataset(tmp_path, compress=False)
    (tmp_path / f"{FILES[0]}.gz").write_bytes(b"\x1f\x8b damaged")
    assert download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                    checksums=SYNTHETIC_SHA256, progress=False) == tmp_path
    assert requests == []
    with pytest.raises(ValueError, match="not a URL"):  # checked all the same
        download("mnist", data_dir=tmp_path, mirrors=["not-a-url"], checksums=SYNTHETIC_SHA256)


def test_a_failed_download_leaves_no_empty_folder(tmp_path, server):
    """Nor the folders above it that it created (the cache's xpnet/ was left behind)."""
    with pytest.raises(DatasetNotFoundError):
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/missing"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert not (tmp_path / "mnist").exists()
    with pytest.raises(DatasetNotFoundError):
        download("mnist", data_dir=tmp_path / "new" / "data", mirrors=[f"{server}/missing"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert not (tmp_path / "new").exists()


def _unwritable(folder: Path, monkeypatch) -> None:
    """Make ``folder`` one that may not be written; as root (who may write anyway) pretend,
    refusing to make a folder or a file in it as the system would."""
    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return
    mkdir, open_ = os.mkdir, os.open

    def refuse_in_folder(path):
        if Path(path).parent == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))

    def refusing_mkdir(path, *args, **kwargs):
        refuse_in_folder(path)
        return mkdir(path, *args, **kwargs)

    def refusing_open(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            refuse_in_folder(path)
        return open_(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", refusing_mkdir)
    monkeypatch.setattr(os, "open", refusing_open)


@pytest.mark.parametrize("unwritable, where, remedy", [
    ("data", "this folder", "give --data-dir (data_dir=) a writable folder"),
    ("data/mnist", "this folder", "or copy the four files there yourself"),
    ("cache", "xpnet's cache", "set $XDG_CACHE_HOME to a writable folder"),
])
def test_a_folder_that_may_not_be_written_is_named_with_the_download_and_what_to_do(
        unwritable, where, remedy, tmp_path, server, requests, monkeypatch):
    """It was "xpnet: error: /home/me/.cache/xpnet: Permission denied" (or a temporary
    file's name): it did not say that this was the cache, nor what to do."""
    locked = tmp_path / unwritable
    locked.mkdir(parents=True)
    _unwritable(locked, monkeypatch)
    data_dir = None if unwritable == "cache" else tmp_path / "data"
    folder = datasets.cache_dir("mnist") if data_dir is None else data_dir / "mnist"
    with pytest.raises(PermissionError) as caught:
        load("mnist", data_dir=data_dir, mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256,
             progress=False)
    assert caught.value.filename == str(folder) and caught.value.errno == errno.EACCES
    assert caught.value.strerror.startswith(f"{os.strerror(errno.EACCES)}: MNIST cannot be "
                                            f"downloaded into {where}; ")
    assert remedy in caught.value.strerror
    assert requests == [] and leftovers(locked) == []


@pytest.mark.parametrize("in_the_way, into, remedy", [
    ("data/mnist", "data/mnist", "give --data-dir (data_dir=) another folder"),
    ("cache/xpnet", "xpnet's cache, {tmp}/cache/xpnet/mnist",
     "set $XDG_CACHE_HOME to another folder, or give one with --data-dir (data_dir=)"),
])
def test_a_file_where_the_download_folder_would_be_is_named(in_the_way, into, remedy, tmp_path,
                                                            server, requests, monkeypatch):
    """A file called mnist in --data-dir DIR was "xpnet: error: DIR/mnist: File exists", and one
    called xpnet in the cache folder "~/.cache/xpnet/mnist: Not a directory", which named no
    file in the way."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / in_the_way).parent.mkdir(parents=True)
    (tmp_path / in_the_way).write_text("mine")
    data_dir = "data" if in_the_way.startswith("data") else None
    with pytest.raises(NotADirectoryError) as caught:
        load("mnist", data_dir=data_dir, mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256,
             progress=False)
    assert Path(caught.value.filename).absolute() == tmp_path / in_the_way
    assert caught.value.strerror == (f"a file, not a folder, where MNIST would be downloaded "
                                     f"({into.format(tmp=tmp_path)}); move it away, or {remedy}")
    assert requests == [] and (tmp_path / in_the_way).read_text() == "mine"


def test_a_download_stopped_by_ctrl_c_leaves_no_empty_folder(tmp_path, server, monkeypatch):
    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(download_module, "_fetch", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        download("mnist", data_dir=tmp_path / "new", mirrors=[f"{server}/good"],
                 checksums=SYNTHETIC_SHA256, progress=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("loader", "name"), [(load_mnist, "mnist"),
                                             (load_fashion_mnist, "fashion-mnist")])
def test_load_mnist_takes_loads_keywords_by_name_and_passes_each_on(loader, name, monkeypatch):
    """They took **options, which an IDE and mypy could tell nothing of."""
    keywords = list(inspect.signature(load).parameters.values())[1:]  # (after name)
    assert list(inspect.signature(loader).parameters.values()) == keywords
    calls = []
    monkeypatch.setattr(datasets, "load", lambda *args, **options: calls.append((args, options)))
    given = {parameter.name: object() for parameter in keywords}  # (none of them a default)
    loader(**given)
    assert calls == [((name,), given)]


# -- real data ------------------------------------------------------------------------------------
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist(mnist):
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir=mnist, download=False)
    assert x_train.shape == (60_000, 784) and x_test.shape == (10_000, 784)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS


def test_real_mnist_nielsen_split_of_images(mnist):
    train, valid, test = load_mnist(data_dir=mnist, validation=True, flatten=False,
                                    download=False)
    assert [len(x) for x, _ in (train, valid, test)] == [50_000, 10_000, 10_000]
    assert valid[0].shape == (10_000, 28, 28)
    assert (np.bincount(train[1]) + np.bincount(valid[1])).tolist() == MNIST_TRAIN_COUNTS


def test_a_folder_of_another_dataset_is_skipped_not_called_damaged(tmp_path, monkeypatch,
                                                                  caplog, synthetic_fashion):
    write_dataset(tmp_path / "data")  # --data-dir holds MNIST's files
    with pytest.raises(DatasetNotFoundError) as caught:
        load("fashion-mnist", data_dir=tmp_path / "data", download=False)
    message = str(caught.value)
    assert "another dataset" in message and f"MNIST's {FILES[0]} file" in message
    assert "Delete the file" not in message
    write_dataset(tmp_path / "env" / "fashion-mnist", contents=synthetic_fashion)
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        (_, y_train), _ = load("fashion-mnist", data_dir=tmp_path / "data", download=False)
    np.testing.assert_array_equal(y_train, np.frombuffer(synthetic_fashion[FILES[1]], np.uint8,
                                                         offset=8))
    # the folder asked for was passed over: said, with where the data came from instead
    assert f"MNIST's {FILES[0]} file, not the one expected here; Fashion-MNIST from " \
           f"{tmp_path / 'env' / 'fashion-mnist'} instead" in caplog.text


def test_a_damaged_gzip_copy_beside_an_intact_plain_one_is_passed_over(tmp_path):
    write_dataset(tmp_path, compress=False)
    (tmp_path / f"{FILES[0]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[0]])))
    (x_train, _), _ = load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256,
                           download=False)
    expected = np.frombuffer(SYNTHETIC[FILES[0]], np.uint8, offset=16).reshape(N_TRAIN, 784)
    np.testing.assert_array_equal(x_train, expected / np.float32(255))
    (tmp_path / FILES[0]).write_bytes(flipped(SYNTHETIC[FILES[0]], at=-3))  # both damaged now
    with pytest.raises(DatasetError, match=f"{FILES[0]}.gz: SHA-256"):  # the first copy's
        load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, download=False)


@pytest.mark.parametrize("name, kaggle_folders", [
    ("{dotted}", True), ("{dotted}.gz", False), ("{upper}", False), ("{stem}.GZ", False),
], ids=["Kaggle's layout", "dotted, gzip", "upper case", ".GZ"])
def test_files_named_as_some_mirrors_name_them_are_read(name, kaggle_folders, tmp_path,
                                                        server, requests):
    """Kaggle's MNIST holds t10k-images.idx3-ubyte, and a folder t10k-images-idx3-ubyte/ with
    the file again: --data-dir DIR was passed over, as a folder of none of the files (or with
    the files' names taken by folders), and the files downloaded into DIR/mnist/; so were
    copies named in upper case. The content is verified whatever the name."""
    for stem, data in SYNTHETIC.items():
        copy = tmp_path / name.format(stem=stem, dotted=stem.replace("-idx", ".idx"),
                                      upper=stem.upper())
        copy.write_bytes(gzip.compress(data) if copy.suffix == ".gz" else data)
        if kaggle_folders:
            (tmp_path / stem).mkdir()
            (tmp_path / stem / stem).write_bytes(data)
    before = leftovers(tmp_path)
    (x_train, _), (_, y_test) = load("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                                     checksums=SYNTHETIC_SHA256, progress=False)
    expected = np.frombuffer(SYNTHETIC[FILES[0]], np.uint8, offset=16).reshape(N_TRAIN, 784)
    np.testing.assert_array_equal(x_train, expected / np.float32(255))
    np.testing.assert_array_equal(y_test, np.frombuffer(SYNTHETIC[FILES[3]], np.uint8, offset=8))
    assert download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"],
                    checksums=SYNTHETIC_SHA256, progress=False) == tmp_path
    assert requests == [] and leftovers(tmp_path) == before


def test_a_copy_by_the_published_name_is_read_before_one_by_another(tmp_path):
    write_dataset(tmp_path, compress=False)
    (tmp_path / FILES[0].upper()).write_bytes(flipped(SYNTHETIC[FILES[0]]))
    (tmp_path / FILES[0].replace("-idx", ".idx")).write_bytes(flipped(SYNTHETIC[FILES[0]]))
    assert load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, download=False)
    # the damaged copies left: the published name's, in upper case, is read (and named) first
    (tmp_path / FILES[0]).unlink()
    with pytest.raises(DatasetError, match=re.escape(f"{FILES[0].upper()}: SHA-256")):
        load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, download=False)


@pytest.mark.parametrize("download_allowed", [True, False])
def test_a_data_dir_that_is_a_file_is_named(tmp_path, download_allowed):
    """It used to end in "<file>/mnist: Not a directory" (or a list of folders not found)."""
    a_file = write_dataset(tmp_path / "mnist") / f"{FILES[0]}.gz"
    with pytest.raises(ValueError, match=re.escape(f"{a_file} is a file, not a folder: give")):
        load("mnist", data_dir=a_file, download=download_allowed, mirrors=closed_port_url(),
             checksums=SYNTHETIC_SHA256)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        download("mnist", data_dir=a_file, mirrors=closed_port_url(), progress=False)


@pytest.mark.parametrize("data_dir", [3, ["data"], b"data"])
def test_a_data_dir_that_is_no_path_is_a_type_error(data_dir):
    """pathlib's "expected str, bytes or os.PathLike object, not int" named no option."""
    for call in (load, download, datasets.find):
        with pytest.raises(TypeError, match="data_dir must be a folder's path"):
            call("mnist", data_dir=data_dir)


def test_an_empty_data_dir_is_refused_as_the_command_refuses_it(tmp_path, monkeypatch, server,
                                                                requests):
    """data_dir="" (os.environ.get("DATA", ""), say) was the current folder: searched, and the
    download went into ./mnist/; `--data-dir ""` is refused."""
    monkeypatch.chdir(tmp_path)
    options = {"checksums": SYNTHETIC_SHA256}
    for call in (lambda: load("mnist", data_dir="", mirrors=[f"{server}/good"], **options),
                 lambda: download("mnist", data_dir="", mirrors=[f"{server}/good"], **options),
                 lambda: datasets.find("mnist", data_dir="", **options)):
        with pytest.raises(ValueError, match="data_dir='' is an empty path: give a folder, or "
                                             "None"):
            call()
    assert requests == [] and not (tmp_path / "mnist").exists()


NO_SUCH_USER = "~no-such-user-of-xpnet"


def test_a_home_folder_of_no_user_is_named_as_the_setting_that_gave_it(monkeypatch, requests):
    """data_dir='~typo/data' or $XPNET_DATA_DIR=~typo/data: pathlib's bare "RuntimeError:
    Could not determine home directory" stopped load, download and find with a traceback,
    naming neither the setting nor the path."""
    offline = {"mirrors": [closed_port_url()]}
    for call in (lambda **kw: load("mnist", **offline, **kw),
                 lambda **kw: download("mnist", **offline, **kw),
                 lambda **kw: datasets.find("mnist", **kw)):
        with pytest.raises(ValueError, match=re.escape(
                f"--data-dir (data_dir=) {NO_SUCH_USER}/data: {NO_SUCH_USER} names no user's "
                f"home folder; give the folder's full path")):
            call(data_dir=f"{NO_SUCH_USER}/data")
    monkeypatch.setenv("XPNET_DATA_DIR", f"{NO_SUCH_USER}/data")
    for call in (lambda: load("mnist", **offline), lambda: datasets.find("mnist")):
        with pytest.raises(ValueError, match=re.escape(f"$XPNET_DATA_DIR {NO_SUCH_USER}/data: ")):
            call()
    assert requests == []


def test_images_and_labels_of_different_lengths_are_a_dataset_error(tmp_path):
    """Intact files (matching checksums) of different sizes: the two are from different sets."""
    contents = dict(SYNTHETIC)
    contents[FILES[1]] = idx_bytes(np.zeros(N_TRAIN - 1, np.uint8))
    sums = sha256s(contents)
    write_dataset(tmp_path, contents=contents)
    with pytest.raises(DatasetError, match=f"holds {N_TRAIN} images but .* holds "
                                           f"{N_TRAIN - 1} labels"):
        load("mnist", data_dir=tmp_path, checksums=sums, download=False)


@pytest.mark.parametrize("index, shape, message", [
    (0, (N_TRAIN, 784), r"expected images \(3 dimensions\), found shape \(30, 784\)"),
    (1, (N_TRAIN, 1), r"expected labels \(1 dimension\), found shape \(30, 1\)"),
    (3, (N_TEST, 1), r"expected labels \(1 dimension\), found shape \(12, 1\)"),  # (the test set's)
])
def test_files_of_the_wrong_kind_are_named(tmp_path, index, shape, message):
    """Intact files (matching checksums) that hold the wrong kind of array: images swapped
    for a flat matrix, labels for a column."""
    contents = dict(SYNTHETIC)
    contents[FILES[index]] = idx_bytes(np.zeros(shape, np.uint8))
    sums = sha256s(contents)
    write_dataset(tmp_path, contents=contents)
    with pytest.raises(DatasetError, match=rf"{FILES[index]}.*{message}"):
        load("mnist", data_dir=tmp_path, checksums=sums, download=False)


def test_data_dir_variable_may_be_dot_inside_the_dataset_folder(tmp_path, monkeypatch):
    """XPNET_DATA_DIR=. in .../mnist: Path(".").name is "", its resolved name "mnist"."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    write_dataset(tmp_path / "mnist")
    monkeypatch.chdir(tmp_path / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", ".")
    assert datasets.search_dirs("mnist")[0] == Path(".")
    (_, y_train), _ = datasets.load("mnist", checksums=SYNTHETIC_SHA256, download=False)
    assert len(y_train) > 0


def test_a_folder_that_lacks_a_file_is_passed_over(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    partial = write_dataset(tmp_path / "partial")
    (partial / f"{FILES[3]}.gz").unlink()
    write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    (_, y_train), _ = load("mnist", data_dir=partial, checksums=SYNTHETIC_SHA256, download=False)
    assert len(y_train) == N_TRAIN


def _lacking(folder: Path, *indices: int) -> Path:
    """``folder`` with the synthetic dataset but for the files FILES[i] of ``indices``."""
    write_dataset(folder)
    for index in indices:
        (folder / f"{FILES[index]}.gz").unlink()
    return folder


@pytest.mark.parametrize("case", ["missing", "empty", "partial", "partial in mnist/", "both"])
def test_a_data_dir_passed_over_is_named_with_why_and_the_folder_read(case, tmp_path,
                                                                     monkeypatch, caplog):
    """(It used to be passed over in silence: a typo in --data-dir went unnoticed.)"""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    env = write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    given = tmp_path / "given"
    option = f"--data-dir (data_dir=) {given}"
    why = {"missing": f"{option} does not exist",
           "empty": f"{option} holds none of the MNIST files, directly or in mnist/",
           "partial": f"{option} lacks {FILES[3]}.gz",
           "partial in mnist/": f"{given / 'mnist'} lacks {FILES[0]}.gz, {FILES[2]}.gz",
           "both": f"{option} lacks {FILES[1]}.gz, {FILES[2]}.gz, {FILES[3]}.gz; "
                   f"{given / 'mnist'} lacks {FILES[3]}.gz"}[case]
    if case == "empty":
        (given / "mnist").mkdir(parents=True)
    if case in ("partial", "both"):
        _lacking(given, 3, *((1, 2) if case == "both" else ()))
    if case in ("partial in mnist/", "both"):
        _lacking(given / "mnist", *((0, 2) if case == "partial in mnist/" else (3,)))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        (_, y_train), _ = load("mnist", data_dir=given, checksums=SYNTHETIC_SHA256,
                               download=False)
    assert len(y_train) == N_TRAIN
    assert [record.getMessage() for record in caplog.records] == [
        f"{why}; MNIST from {env} instead"]
    assert datasets.load_with_folder("mnist", data_dir=given, checksums=SYNTHETIC_SHA256)[1] \
        == env


def test_files_of_a_data_dir_passed_over_for_a_download_into_its_folder_are_named(
        tmp_path, server, requests, caplog, monkeypatch):
    """Three files directly in DIR, the fourth missing: all four are downloaded into
    DIR/mnist/ and read from there; the user's three beside it went unused without a word."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    monkeypatch.delenv("XPNET_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    given = _lacking(tmp_path / "given", 3)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        _, folder = datasets.load_with_folder("mnist", data_dir=given, checksums=SYNTHETIC_SHA256,
                                              mirrors=[f"{server}/good"], progress=False)
    assert folder == given / "mnist" and len(requests) == len(FILES)
    assert [record.getMessage() for record in caplog.records] == [
        f"--data-dir (data_dir=) {given} lacks {FILES[3]}.gz; MNIST from {folder} instead"]
    caplog.clear()  # (read again, from DIR/mnist/ as asked, DIR's own files a stray copy:
    with caplog.at_level(logging.WARNING, logger="xpnet"):  # no word, as for any such copy)
        assert datasets.load_with_folder("mnist", data_dir=given,
                                         checksums=SYNTHETIC_SHA256)[1] == folder
    assert caplog.records == []


def test_a_data_dir_that_does_not_exist_yet_gets_the_download(tmp_path, server, requests,
                                                             caplog):
    """As torchvision's root: the folder to download into, without a warning."""
    given = tmp_path / "new"
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        _, folder = datasets.load_with_folder("mnist", data_dir=given, checksums=SYNTHETIC_SHA256,
                                              mirrors=[f"{server}/good"], progress=False)
    assert folder == given / "mnist" and len(requests) == len(FILES)
    assert caplog.records == []


def test_not_found_names_the_files_a_folder_lacks(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    partial = _lacking(tmp_path / "partial", 3)
    _lacking(partial / "mnist", 0, 1)
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", data_dir=partial, checksums=SYNTHETIC_SHA256, download=False)
    lines = str(caught.value).splitlines()
    assert f"  {partial} (lacks {FILES[3]}.gz)" in lines
    assert f"  {partial / 'mnist'} (lacks {FILES[0]}.gz, {FILES[1]}.gz)" in lines
    assert f"  {tmp_path / 'cache' / 'xpnet' / 'mnist'}" in lines  # (none of them: no note)


def test_a_damaged_cache_is_reported_when_a_data_dir_is_given(tmp_path, server, requests,
                                                              monkeypatch):
    """Only a download into the cache repairs it: with data_dir the damaged file is named."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    cache = write_dataset(tmp_path / "cache" / "xpnet" / "mnist")  # (isolated_env's cache)
    (cache / f"{FILES[2]}.gz").write_bytes(gzip.compress(flipped(SYNTHETIC[FILES[2]])))
    with pytest.raises(DatasetError, match=f"{FILES[2]}.gz: SHA-256"):
        load("mnist", data_dir=tmp_path / "empty", mirrors=[f"{server}/good"],
             checksums=SYNTHETIC_SHA256, progress=False)
    assert requests == []


def test_validation_1_is_one_example_not_true(tmp_path):
    """validation=1 == True in Python: it must not ask for Nielsen's 10,000."""
    write_dataset(tmp_path)
    train, valid, _ = load("mnist", data_dir=tmp_path, validation=1, checksums=SYNTHETIC_SHA256)
    assert len(valid[1]) == 1 and len(train[1]) == N_TRAIN - 1


# -- what a mutation review of the reader and the split found untested ----------------------------
def test_the_validation_split_keeps_the_first_examples_for_training(tmp_path):
    write_dataset(tmp_path)
    (x_train, y_train), _ = load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256)
    train, valid, _ = load("mnist", data_dir=tmp_path, validation=5,
                           checksums=SYNTHETIC_SHA256)
    np.testing.assert_array_equal(train[0], x_train[:-5])
    np.testing.assert_array_equal(train[1], y_train[:-5])
    np.testing.assert_array_equal(valid[0], x_train[-5:])


def test_loading_from_the_first_folder_searched_brings_no_warning(tmp_path, caplog):
    write_dataset(tmp_path)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        load("mnist", data_dir=tmp_path, checksums=SYNTHETIC_SHA256, download=False)
    assert caplog.records == []


def test_a_partial_folder_of_uncompressed_files_lacks_only_the_files_it_has_in_neither_form(
        tmp_path, monkeypatch, caplog):
    """A file held uncompressed is held: only the one missing in both forms is named (by its
    .gz name, as every missing file), in the error and in the warning when another folder is
    read instead."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    partial = write_dataset(tmp_path / "partial", compress=False)
    (partial / FILES[3]).unlink()
    _assert_named_as_lacking(partial, f"lacks {FILES[3]}.gz", tmp_path, monkeypatch, caplog)


def _assert_named_as_lacking(folder, note, tmp_path, monkeypatch, caplog):
    """``folder`` (given as data_dir) is named with ``note`` in the not-found error, and in
    the warning when the files are read from $XPNET_DATA_DIR instead."""
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", data_dir=folder, checksums=SYNTHETIC_SHA256, download=False)
    assert f"  {folder} ({note})" in str(caught.value).splitlines()
    env = write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        load("mnist", data_dir=folder, checksums=SYNTHETIC_SHA256, download=False)
    assert [record.getMessage() for record in caplog.records] == [
        f"--data-dir (data_dir=) {folder} {note}; MNIST from {env} instead"]


def test_an_xpnet_data_dir_that_does_not_exist_is_named(tmp_path, monkeypatch, caplog):
    """A typo in $XPNET_DATA_DIR was passed over in silence, the cache read instead; a data_dir
    read first makes it irrelevant, and an existing one needs no word."""
    cache = write_dataset(tmp_path / "cache" / "xpnet" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "dta"))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        load("mnist", checksums=SYNTHETIC_SHA256, download=False)
    assert [record.getMessage() for record in caplog.records] == [
        f"$XPNET_DATA_DIR {tmp_path / 'dta'} does not exist; MNIST from {cache} instead"]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        load("mnist", data_dir=cache, checksums=SYNTHETIC_SHA256, download=False)
        monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path))
        load("mnist", checksums=SYNTHETIC_SHA256, download=False)
    assert not caplog.records


def test_not_found_adds_no_lacks_note_to_a_folder_that_holds_every_file(tmp_path,
                                                                          synthetic_fashion):
    """A folder of all four files (here some uncompressed) that is skipped as another
    dataset's lacks none: its line in 'Looked in' is the folder alone."""
    data = write_dataset(tmp_path / "data")  # MNIST's files, asked for Fashion-MNIST
    for stem in FILES[2:]:
        (data / stem).write_bytes(SYNTHETIC[stem])
        (data / f"{stem}.gz").unlink()
    with pytest.raises(DatasetNotFoundError) as caught:
        load("fashion-mnist", data_dir=data, download=False)
    lines = str(caught.value).splitlines()
    assert "Skipped, as they hold another dataset (or, in $XPNET_DATA_DIR itself, a file that " \
           "fails verification):" in lines and f"  {data}" in lines
    assert not [line for line in lines if "(lacks" in line], lines


@pytest.mark.parametrize("case", ["complete", "partial", "empty"])
def test_a_data_dir_in_the_home_folder_is_expanded(case, tmp_path, monkeypatch, caplog):
    """data_dir="~/x" from Python: read there, or passed over for what it lacks, never called
    missing."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    env = write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", str(tmp_path / "env"))
    given = tmp_path / "x"
    if case == "empty":
        given.mkdir()
    else:
        _lacking(given, *((3,) if case == "partial" else ()))
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        folder = datasets.load_with_folder("mnist", data_dir="~/x", checksums=SYNTHETIC_SHA256,
                                           download=False)[1]
    why = {"complete": None, "partial": f"--data-dir (data_dir=) ~/x lacks {FILES[3]}.gz",
           "empty": "--data-dir (data_dir=) ~/x holds none of the MNIST files, directly or in "
                    "mnist/"}[case]
    assert folder == (given if why is None else env)
    assert [record.getMessage() for record in caplog.records] == (
        [] if why is None else [f"{why}; MNIST from {env} instead"])


# -- what a mutation review of load_with_folder and the not-found message found untested ---------
@pytest.mark.parametrize("download_allowed", [False, True])
def test_not_found_lists_the_folders_then_why_nothing_was_downloaded(tmp_path, monkeypatch,
                                                                     download_allowed):
    """The message's sections in order, each only where it has lines (no empty "Skipped" or
    "Damaged" heading)."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    given, url = tmp_path / "nowhere", closed_port_url()
    with pytest.raises(DatasetNotFoundError) as caught:
        load("mnist", data_dir=given, download=download_allowed, mirrors=[url],
             checksums=SYNTHETIC_SHA256, progress=False)
    lines = str(caught.value).splitlines()
    folders = datasets.search_dirs("mnist", given)
    files = ", ".join(f"{stem}.gz" for stem in FILES)
    assert lines[:2 + len(folders)] == [
        f"MNIST not found: no folder holds all of {files} (gzip or uncompressed).", "Looked in:",
        *(f"  {folder}" for folder in folders)]
    why = lines[2 + len(folders):-1]
    if download_allowed:
        assert why[0] == "Downloading failed:" and why[1].startswith(f"  {url}"), why
    else:
        assert why == ["Downloading was not allowed (--no-download, or download=False)."]
    assert lines[-1].startswith("To supply the files, put them in a folder")


@pytest.mark.parametrize("complete", ["data_dir", "data_dir/mnist"])
def test_files_read_from_either_given_folder_bring_no_warning_for_the_other(complete, tmp_path,
                                                                           monkeypatch, caplog):
    """data_dir and data_dir/<name>/ are both the folder asked for: the one that holds the files
    is read without a warning, though the other holds some of them (a stray copy)."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    given = tmp_path / "given"
    full, partial = (given, given / "mnist") if complete == "data_dir" else (given / "mnist", given)
    write_dataset(full)
    _lacking(partial, 1, 2, 3)
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        folder = datasets.load_with_folder("mnist", data_dir=given, checksums=SYNTHETIC_SHA256,
                                           download=False)[1]
    assert folder == full and caplog.records == []


# -- a folder of the user's is never written over -------------------------------------------------
def _users_own_labels(folder: Path) -> bytes:
    """``folder`` with the synthetic dataset but for the test labels (missing) and the training
    labels: the user's own, relabelled version (a valid IDX file that fails the checksum)."""
    _lacking(folder, 3)
    own = gzip.compress(flipped(SYNTHETIC[FILES[1]], at=8))  # the first label changed
    (folder / f"{FILES[1]}.gz").write_bytes(own)
    return own


@pytest.mark.parametrize("via", ["load", "download"])
def test_a_users_file_that_fails_verification_is_named_not_downloaded_over(
        via, tmp_path, server, requests, monkeypatch):
    """The tester's data loss: DIR/mnist held the user's relabelled training labels and lacked
    the test labels; `xpnet train --data-dir DIR` (and `xpnet download --data-dir DIR`)
    downloaded both and silently replaced the user's file with the published one."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    folder = tmp_path / "data" / "mnist"
    own = _users_own_labels(folder)
    options = dict(data_dir=tmp_path / "data", mirrors=[f"{server}/good"],
                   checksums=SYNTHETIC_SHA256, progress=False)
    with pytest.raises(DatasetError) as caught:
        (load if via == "load" else download)("mnist", **options)
    message = str(caught.value)
    assert not isinstance(caught.value, DatasetNotFoundError)
    assert message.startswith(f"{folder / FILES[1]}.gz: SHA-256 of its IDX data (decompressed")
    assert "Delete the file" in message and "in a folder of yours" in message
    assert (folder / f"{FILES[1]}.gz").read_bytes() == own
    assert requests == []  # refused before any download, the missing file's too
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES[:3])


def test_another_datasets_file_or_a_folder_in_a_users_folder_is_not_downloaded_over(
        tmp_path, server, requests, synthetic_fashion):
    folder = _lacking(tmp_path / "mnist", 3)
    (folder / f"{FILES[1]}.gz").write_bytes(gzip.compress(synthetic_fashion[FILES[1]]))
    with pytest.raises(DatasetError, match=re.escape(
            f"{folder / FILES[1]}.gz is Fashion-MNIST's {FILES[1]} file, not the one expected "
            f"here. Move it out of {folder} to have it downloaded; xpnet replaces no file in a "
            "folder of yours")):
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"], progress=False)
    (folder / f"{FILES[1]}.gz").unlink()
    (folder / f"{FILES[1]}.gz").mkdir()  # a name taken by a folder: not replaced either
    with pytest.raises(DatasetError, match=re.escape(
            f"{folder / FILES[1]}.gz is a folder, not a file. Move it out of {folder}")):
        download("mnist", data_dir=tmp_path, mirrors=[f"{server}/good"], progress=False)
    assert requests == [] and (folder / f"{FILES[1]}.gz").is_dir()


def test_a_damaged_file_in_the_cache_is_repaired_with_the_missing_ones(tmp_path, server,
                                                                       requests):
    """xpnet's own cache, unlike a folder of the user's, is repaired."""
    cache = tmp_path / "cache" / "xpnet" / "mnist"
    _users_own_labels(cache)
    (_, y_train), _ = load("mnist", mirrors=[f"{server}/good"], checksums=SYNTHETIC_SHA256,
                           progress=False)
    np.testing.assert_array_equal(y_train, np.frombuffer(SYNTHETIC[FILES[1]], np.uint8, offset=8))
    assert sorted(requests) == sorted(f"/good/{FILES[i]}.gz" for i in (1, 3))
    assert leftovers(cache) == sorted(f"{stem}.gz" for stem in FILES)


def test_another_datasets_file_in_the_cache_is_not_downloaded_over(tmp_path, server, requests,
                                                                    synthetic_fashion):
    """Fashion-MNIST's labels copied by hand into the cache's mnist/ (its only copy, it may be)
    were replaced by MNIST's, without a word, though another dataset's file is replaced
    nowhere; under a name that the download does not take, it is left beside."""
    cache = datasets.cache_dir("mnist")
    labels = cache / f"{FILES[1]}.gz"
    _lacking(cache, 0, 2)
    labels.write_bytes(gzip.compress(synthetic_fashion[FILES[1]]))
    with pytest.raises(DatasetError, match=re.escape(
            f"{labels} is Fashion-MNIST's {FILES[1]} file, not the one expected here. Move it "
            f"out of {cache} to have it downloaded; xpnet replaces no other dataset's file, in "
            "its cache neither.")):
        load("mnist", mirrors=[f"{server}/good"], progress=False)
    assert requests == [] and gzip.decompress(labels.read_bytes()) == synthetic_fashion[FILES[1]]
    labels.rename(cache / FILES[1])  # (a name without .gz: the download goes beside it)
    (_, y_train), _ = load("mnist", mirrors=[f"{server}/good"], progress=False)
    np.testing.assert_array_equal(y_train, np.frombuffer(SYNTHETIC[FILES[1]], np.uint8, offset=8))
    assert gzip.decompress((cache / FILES[1]).read_bytes()) == synthetic_fashion[FILES[1]]


def test_another_datasets_file_under_another_case_in_the_cache_is_not_downloaded_over(
        tmp_path, server, requests, synthetic_fashion, monkeypatch):
    """On a case-insensitive file system (macOS's), Fashion-MNIST's labels copied into the
    cache as TRAIN-LABELS-IDX1-UBYTE.GZ are the file that the download's name opens: they
    were replaced, as the check looked for another dataset's file under that name alone.
    Such a system is stood in for by a second link whose name the folder's listing hides."""
    cache = datasets.cache_dir("mnist")
    _lacking(cache, 0, 1)
    labels = cache / f"{FILES[1]}.gz".upper()
    labels.write_bytes(gzip.compress(synthetic_fashion[FILES[1]]))
    os.link(labels, cache / f"{FILES[1]}.gz")
    listdir = os.listdir
    monkeypatch.setattr(datasets.os, "listdir", lambda folder: [
        name for name in listdir(folder) if name != f"{FILES[1]}.gz"])
    with pytest.raises(DatasetError, match=re.escape(
            f"{labels} is Fashion-MNIST's {FILES[1]} file, not the one expected here. Move it "
            f"out of {cache} to have it downloaded")):
        load("mnist", mirrors=[f"{server}/good"], progress=False)
    assert requests == []


# -- a name taken by something that is no file ----------------------------------------------------
@pytest.mark.parametrize("entry, kind", [
    ("folder", "a folder"),
    ("fifo", "a named pipe (FIFO)"),
    ("loop", "a symbolic link to nothing (or a loop of links)"),
])
def test_a_files_name_taken_by_no_file_is_said_not_called_lacking(entry, kind, tmp_path,
                                                                 monkeypatch, caplog):
    """With a folder (a FIFO, a link that loops) of the name train-labels-idx1-ubyte.gz, the
    folder was said to lack that file, which `ls` shows."""
    if entry == "fifo" and not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    given = _lacking(tmp_path / "given", 1, 3)
    taken = given / f"{FILES[1]}.gz"
    {"folder": taken.mkdir, "fifo": lambda: os.mkfifo(taken),
     "loop": lambda: os.symlink(taken.name, taken)}[entry]()
    note = f"lacks {FILES[3]}.gz and holds {FILES[1]}.gz as {kind}, not a file"
    _assert_named_as_lacking(given, note, tmp_path, monkeypatch, caplog)
    # nor is it downloaded over (the folder is the user's)
    (tmp_path / "user").mkdir()
    folder = given.rename(tmp_path / "user" / "mnist")
    with pytest.raises(DatasetError, match=re.escape(
            f"{folder / taken.name} is {kind}, not a file. Move it out of {folder}")):
        download("mnist", data_dir=tmp_path / "user", mirrors=closed_port_url(),
                 checksums=SYNTHETIC_SHA256)


def test_an_empty_data_dir_variable_is_as_none(tmp_path, monkeypatch):
    """`XPNET_DATA_DIR=` (set, empty) is no folder: the current one's mnist/ is not searched."""
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setenv("XPNET_DATA_DIR", "")
    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "mnist")
    assert datasets.search_dirs("mnist") == [datasets.cache_dir("mnist")]
    with pytest.raises(DatasetNotFoundError):
        load("mnist", checksums=SYNTHETIC_SHA256, download=False)


def test_download_into_a_data_dir_of_another_dataset_goes_to_its_own_folder(tmp_path,
                                                                            synthetic_fashion):
    """A --data-dir that holds MNIST is no folder of Fashion-MNIST: `download("fashion-mnist",
    data_dir)` must fetch Fashion-MNIST into data_dir/fashion-mnist/, not return data_dir as
    if it held it."""
    data = write_dataset(tmp_path / "data")  # MNIST's files
    mirror = write_dataset(tmp_path / "mirror", contents=synthetic_fashion)
    folder = download("fashion-mnist", data_dir=data, mirrors=mirror.as_uri(), progress=False)
    assert folder == data / "fashion-mnist"
    assert leftovers(folder) == sorted(f"{stem}.gz" for stem in FILES)
    (_, y_train), _ = load("fashion-mnist", data_dir=data, download=False)
    np.testing.assert_array_equal(y_train, np.frombuffer(synthetic_fashion[FILES[1]], np.uint8,
                                                         offset=8))


def test_a_data_dir_variable_in_the_home_folder_is_expanded(tmp_path, monkeypatch, caplog):
    """XPNET_DATA_DIR="~/env" (from a file no shell reads, such as a .env or a unit file) is
    the folder in the home folder, as data_dir="~/x" is; no test set the variable so, and
    searching a literal "~" folder passed the whole suite."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())
    env = write_dataset(tmp_path / "env" / "mnist")
    monkeypatch.setenv("XPNET_DATA_DIR", "~/env")
    with caplog.at_level(logging.WARNING, logger="xpnet"):
        folder = datasets.load_with_folder("mnist", checksums=SYNTHETIC_SHA256,
                                           download=False)[1]
    assert folder == env and caplog.records == []
