"""`xpnet evaluate`: the networks it takes, the test files it reads, the classes it names,
and its confusion matrix. (The training check's evaluate of its model: test_cli_train.py; the
confusion matrix's arithmetic, xpnet.training.confusion_matrix: test_training.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import _data_were_loaded, xpnet

from xpnet import Network, datasets
from xpnet.cli import evaluate as cli_evaluate

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- the network and the test set -------------------------------------------------------------
@pytest.mark.parametrize("sizes", [[2, 16, 2], [784, 16, 1]])
def test_evaluate_refuses_a_network_that_does_not_fit_the_images(sizes, tmp_path, capsys,
                                                                 monkeypatch):
    """A 784-16-1 network used to fail with NumPy's "non-broadcastable output operand with
    shape (1,1) ...", after loading the data."""
    monkeypatch.setattr(cli_evaluate, "_test_set", _data_were_loaded)
    model = tmp_path / "model.npz"
    Network(sizes, output="sigmoid", backend="numpy").save(model)
    status, _, err = xpnet(capsys, "evaluate", model)
    assert status == 2, err
    assert err.startswith(f"xpnet: error: {model} holds a {'-'.join(map(str, sizes))} network")
    assert "784 inputs and 10 outputs or more" in err  # (more: the classes never seen)


def _random_test_set(datasets_asked: list):
    """A stand-in for evaluate's _test_set: 50 random test images, noting the dataset asked for."""
    def load(args):
        datasets_asked.append(args.dataset)
        rng = np.random.default_rng(1)
        return rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50)

    return load


def test_evaluate_reads_the_test_files_only(mnist, tmp_path, capsys):
    """evaluate decompressed and verified the training files too (six times the test set's
    bytes), to throw them away: now they are not read. It reads the folder that train would
    (one that holds all four files), and a damaged test file is named as before."""
    folder = tmp_path / "data"
    folder.mkdir()
    for stem in datasets.FILES[2:]:  # the test files (the real ones, gzip-compressed or not)
        real = next(path for path in (mnist / f"{stem}.gz", mnist / stem) if path.is_file())
        (folder / real.name).write_bytes(real.read_bytes())
    for stem in datasets.FILES[:2]:  # the training files: would fail verification if read
        (folder / f"{stem}.gz").write_bytes(b"not read")
    model = tmp_path / "m.npz"
    Network([784, 16, 10], backend="numpy").save(model, metadata={"dataset": "mnist"})
    evaluate = ("evaluate", model, "--data-dir", folder, "--no-download", "--backend", "numpy")
    status, out, err = xpnet(capsys, *evaluate)
    assert status == 0, err
    assert f"MNIST from {folder}: 10,000 test images\n" in err
    assert "MNIST test set, 10,000 images: loss" in out
    labels = next(folder.glob("t10k-labels-idx1-ubyte*"))
    labels.write_bytes(b"damaged")
    status, _, err = xpnet(capsys, *evaluate)
    assert status == 2 and err.startswith(f"xpnet: error: {labels}: ") and \
        "Delete the file and download it again" in err, err
    for path in folder.glob("train-*"):  # (a folder without them: passed over, as by train)
        path.unlink()
    status, _, err = xpnet(capsys, *evaluate)
    assert status == 2 and "MNIST not found" in err and f"{folder} (lacks train-images" in err, err


def test_evaluate_takes_a_network_of_more_than_10_outputs(tmp_path, capsys, monkeypatch):
    """More outputs than the dataset has classes is a valid network (its extra classes are
    never the label); fewer is refused (test_evaluate_refuses_a_network_...)."""
    monkeypatch.setattr(cli_evaluate, "_test_set", _random_test_set([]))
    model = tmp_path / "m.npz"
    Network([784, 16, 12], backend="numpy").save(model, metadata={"dataset": "mnist"})
    status, out, err = xpnet(capsys, "evaluate", model)
    assert status == 0 and "confusion matrix" in out, err


def test_evaluate_names_fashion_mnists_classes(tmp_path, capsys, monkeypatch):
    """Its labels are no digits: the confusion matrix says what 0..9 stand for (MNIST's are
    the digits themselves: no legend)."""
    monkeypatch.setattr(cli_evaluate, "_test_set", _random_test_set([]))
    model = tmp_path / "m.npz"
    Network([784, 16, 10], backend="numpy").save(model, metadata={"dataset": "fashion-mnist"})
    status, out, err = xpnet(capsys, "evaluate", model)
    assert status == 0, err
    assert out.splitlines()[-1] == ("classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, "
                                    "4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot")
    status, out, err = xpnet(capsys, "evaluate", model, "--dataset", "mnist")
    assert status == 0 and "classes:" not in out, err


def test_evaluate_of_a_model_without_metadata_uses_mnist(tmp_path, capsys, monkeypatch):
    asked = []
    monkeypatch.setattr(cli_evaluate, "_test_set", _random_test_set(asked))
    model = tmp_path / "m.npz"
    Network([784, 16, 10], backend="numpy").save(model)  # no dataset recorded
    status, out, err = xpnet(capsys, "evaluate", model)
    assert status == 0 and asked == ["mnist"] and "MNIST test set" in out, err
