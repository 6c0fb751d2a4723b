"""`xpnet predict`: the classes and outputs of IDX and .npy images, as Network.predict and
forward give them, and every file of images or model refused in one line. The predictor is
trained on real MNIST's test images (../shared/data/mnist or $XPNET_DATA_DIR/mnist).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error, xpnet

from xpnet import Network, idx
from xpnet.cli import predict as cli_predict

#: conftest's offline (no download leaves the machine) and real_mnist_read_once, for each test
#: here (not autouse there, where the other test files would get them too)
pytestmark = pytest.mark.usefixtures("offline", "real_mnist_read_once")


# -- the classes and outputs printed ----------------------------------------------------------
@pytest.fixture(scope="module")
def predictor(mnist, tmp_path_factory):
    """(a model file, its network, MNIST's test images file and those images as uint8 (N, 28,
    28)): a 784-32-10 network trained briefly on the first 2,000 test images, so that it
    predicts every class (a network of random weights may predict one or two)."""
    images_file = next(mnist.glob("t10k-images-idx3-ubyte*"))
    labels = idx.read_idx(next(mnist.glob("t10k-labels-idx1-ubyte*")))
    images = np.asarray(idx.read_idx(images_file))
    net = Network([784, 32, 10], activation="relu", backend="numpy", seed=3)
    net.fit(images[:2000].reshape(2000, -1) / np.float32(255), labels[:2000], epochs=2,
            batch_size=50, progress=False)
    model = tmp_path_factory.mktemp("predict") / "model.npz"
    net.save(model, metadata={"dataset": "mnist"})
    return model, net, images_file, images


def predicted(out: str) -> tuple[np.ndarray, np.ndarray]:
    """The classes and the numbers after them that `xpnet predict` printed, one row a line."""
    rows = [line.split() for line in out.splitlines()]
    return (np.array([int(row[0]) for row in rows]),
            np.array([[float(value) for value in row[1:]] for row in rows]))


def test_predict_classifies_an_idx_file_as_net_predict_does(predictor, capsys):
    model, net, images_file, images = predictor
    status, out, err = xpnet(capsys, "predict", model, images_file, "--batch-size", 999)
    assert status == 0, err
    classes, numbers = predicted(out)
    X = images.reshape(len(images), -1) / np.float32(255)
    expected = net.predict(X)
    np.testing.assert_array_equal(classes, expected)
    assert set(expected.tolist()) == set(range(10)) and numbers.size == 0
    assert "10,000 images" in err and "784-32-10" in err  # (the summary: on stderr only)
    # the outputs too: a ReLU network's class alone hardly tells pixels 0-255 from 0-1
    out = xpnet(capsys, "predict", model, images_file, "--probabilities")[1]
    np.testing.assert_allclose(predicted(out)[1], net.forward(X), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("shape", [(5, 28, 28), (5, 1, 28, 28), (5, 28, 28, 1), (5, 784),
                                   (28, 28), (784,)])
@pytest.mark.parametrize("dtype", ["uint8", "int64", "float32", "float64"])
def test_predict_of_a_npy_array_is_net_predict_of_the_scaled_images(predictor, tmp_path, capsys,
                                                                      shape, dtype):
    """Whole numbers 0-255 divided by 255 (as the training images), floats in [0, 1] as they
    are; one image (28, 28) or (784,) is one line."""
    model, net, _, images = predictor
    pixels = images[100:105] if len(shape) > 2 or shape[0] == 5 else images[100]
    scaled = idx.scaled(pixels)
    array = (pixels if dtype.startswith(("u", "i")) else scaled).astype(dtype).reshape(shape)
    np.save(tmp_path / "images.npy", array)
    status, out, err = xpnet(capsys, "predict", model, tmp_path / "images.npy",
                             "--probabilities")
    assert status == 0, err
    classes, outputs = predicted(out)
    np.testing.assert_array_equal(classes, net.predict(scaled.reshape(-1, 784)))
    np.testing.assert_allclose(outputs, net.forward(scaled.reshape(-1, 784)), rtol=1e-5,
                               atol=1e-7)


def test_predict_probabilities_are_the_networks_outputs(predictor, tmp_path, capsys):
    model, net, _, images = predictor
    np.save(tmp_path / "images.npy", images[:300])
    status, out, err = xpnet(capsys, "predict", model, tmp_path / "images.npy",
                             "--probabilities")
    assert status == 0, err
    classes, probabilities = predicted(out)
    X = images[:300].reshape(300, -1) / np.float32(255)
    assert probabilities.shape == (300, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(probabilities, net.forward(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(classes, net.predict(X))


def test_predict_computes_batch_size_images_at_a_time(small_model, tmp_path, capsys,
                                                      monkeypatch):
    asked, forward = [], Network.forward

    def recorded(self, X, batch_size=1024):
        asked.append(batch_size)
        return forward(self, X, batch_size=batch_size)

    monkeypatch.setattr(Network, "forward", recorded)
    np.save(path := tmp_path / "images.npy", np.zeros((5, 784), np.uint8))
    status, out, err = xpnet(capsys, "predict", small_model[0], path, "--batch-size", 2)
    assert status == 0 and len(out.splitlines()) == 5, err
    assert asked == [2]


# -- images and models refused, in one line ---------------------------------------------------
def idx_file(path: Path, array: np.ndarray) -> Path:
    """``array`` (uint8) written to ``path`` in IDX format."""
    path.write_bytes(bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes())
    return path


def bad_predict_input(case: str, folder: Path, images: np.ndarray) -> Path:
    """The FILE of a failing `xpnet predict` case."""
    path = folder / ("images" if "IDX" in case else "images.npy")
    if case == "damaged IDX":
        path.write_bytes(idx_file(path, images[:3]).read_bytes()[:-10])
    elif case == "IDX of labels":
        idx_file(path, np.arange(10, dtype=np.uint8))
    elif case == "IDX of 14x14":
        idx_file(path, images[:3, ::2, ::2].copy())
    elif case == "a folder":
        path.mkdir()
    elif case == "a checkpoint":
        Network([784, 10], backend="numpy").save(path := folder / "other.npz")
    elif case == "np.savez":  # (the model given first: no hint to swap them)
        np.savez(path := folder / "images.npz", images=images[:2])
    elif case == "a pickle":
        path.write_bytes(pickle.dumps(images[:2]))
    elif case == "a pickle named .NPY":  # (a .npy name all the same)
        (path := folder / "images.NPY").write_bytes(pickle.dumps(images[:2]))
    elif case == "damaged .npy":
        np.save(path, images[:2])
        path.write_bytes(path.read_bytes()[:-100])
    elif case == "long .npy header":  # (numpy refuses it, advising allow_pickle=True)
        path.write_bytes(np.lib.format.MAGIC_PREFIX + b"\x02\x00"
                         + (200_000).to_bytes(4, "little") + b" " * 200_000)
    elif case in ("PNG", "JPEG"):  # (the first bytes of such a file, enough to be told)
        (path := folder / f"digit.{case.lower()}").write_bytes(
            {"PNG": b"\x89PNG\r\n\x1a\n", "JPEG": b"\xff\xd8\xff\xe0\x00\x10JFIF"}[case]
            + bytes(64))
    elif case != "missing":
        np.save(path, {
            "pickled .npy": np.array([images[0], "a"], dtype=object),
            "4-D": images[:4].reshape(2, 2, 28, 28),
            "100 pixels": images[:3, :10, :10],
            "2 rows of 392": images[:1].reshape(2, 392),
            "no images": images[:0],
            "NaN": np.full((2, 784), np.nan, np.float32),
            "0-255 floats": images[:2].astype(np.float32),
            "standardized": (images[:2] / 255 - 0.1307) / 0.3081,
            "negative whole numbers": images[:2].astype(np.int16) - 1,
            "strings": np.array(["7"] * 784),
            "an infinity": np.array([0.5] * 783 + [np.inf], np.float32),
            "whole numbers over 255": images[:2].astype(np.int16) + 1,
            "floats over 255": images[:2].astype(np.float32) + 1,
            "28x28x1": images[0].reshape(28, 28, 1),
            "14x14": images[0, ::2, ::2],
        }[case])
    return path


PREDICT_ERRORS = {
    "missing": "FILE {file}: no such file; give an IDX image file",
    "damaged IDX": "{file}: truncated",
    "IDX of labels": "{file}: expected images (3 dimensions), found shape (10,); give an IDX",
    "IDX of 14x14": "{file} holds images of 196 pixels, but {model} holds a 784-32-10 network, "
                    "which takes 784: give images of 784 pixels, 28x28",
    "a folder": "{file} is not a regular file but a folder",
    "a checkpoint": "{file} is a zip archive (an .npz, as np.savez and xpnet train --save "
                    "write), which predict does not read images from: save the images with "
                    "np.save(FILE, images)",
    "np.savez": "{file} is a zip archive (an .npz, as np.savez and xpnet train --save write), "
                "which predict does not read images from: save the images with np.save(",
    "a pickle": "{file} is not a .npy file",
    "pickled .npy": "{file} holds Python objects (pickled), which xpnet never loads",
    "4-D": "{file} holds an array of shape (2, 2, 28, 28), not images: give (N, 28, 28), "
           "(N, 1, 28, 28), (N, 28, 28, 1)",
    "100 pixels": "{file} holds images of 100 pixels, but {model} holds a 784-32-10 network",
    "2 rows of 392": "{file} holds images of 392 pixels",  # (not one image: not square)
    "no images": "{file} holds no images: its array's shape is (0, 28, 28)",
    "NaN": "{file} holds 1,568 NaN or infinite values",
    "0-255 floats": "{file} holds floats from 0 to 255, but a network takes pixels in [0, 1], as "
                    "it was trained (0-255 divided by 255): these look like pixels 0-255: "
                    "divide them by 255",
    "standardized": "{file} holds floats from -0.424213 to 2.82",
    "negative whole numbers": "{file} holds whole numbers from -1 to 254, but pixels are 0-255",
    "strings": "{file} holds <U1 values, not pixels",
    "a pickle named .NPY": "{file} is not a .npy file",
    "damaged .npy": "{file} is a damaged .npy file (ValueError: ",
    "long .npy header": "{file} is a damaged .npy file (an array header too long to read "
                        "safely, or Python objects, which xpnet never loads): save the images "
                        "again with np.save",
    "PNG": "{file} is a PNG picture, which predict does not read: save it as a .npy of 28x28 "
           "gray pixels, with Pillow for one: np.save('digit.npy', np.asarray(Image.open(FILE)"
           ".convert('L').resize((28, 28)))). MNIST's digits are light on dark",
    "JPEG": "{file} is a JPEG picture, which predict does not read",
    "an infinity": "{file} holds 1 NaN or infinite values",
    "whole numbers over 255": "{file} holds whole numbers from 1 to 256, but pixels are 0-255",
    "floats over 255": "{file} holds floats from 1 to 256, but a network takes pixels in [0, 1], "
                       "as it was trained (0-255 divided by 255): scale them to [0, 1]",
    "28x28x1": "{file} holds images of 28 pixels, but {model}",  # (28 images of 28 by 1)
    "14x14": "{file} holds images of 14 pixels, but {model}",  # (square, but not 784 pixels)
}


@pytest.mark.parametrize("case", PREDICT_ERRORS)
def test_predict_refuses_bad_images_in_one_line(case, predictor, tmp_path, capsys):
    model, _, _, images = predictor
    path = bad_predict_input(case, tmp_path, images)
    status, out, err = xpnet(capsys, "predict", model, path)
    assert_one_error(status, out, err, PREDICT_ERRORS[case].format(file=path, model=model))
    assert "allow_pickle" not in err  # (numpy's advice: none for a file of unknown origin)
    if case == "standardized":
        assert "scale them to [0, 1] (not standardized" in err, err


@pytest.mark.parametrize("case", ["missing", "not a model", "images first", "swapped",
                                  "swapped, the images an .npz"])
def test_predict_refuses_a_model_that_is_none_in_one_line(case, predictor, tmp_path, capsys):
    saved, _, images_file, images = predictor
    model = {"missing": tmp_path / "gone.npz", "not a model": tmp_path / "model.npz",
             "images first": images_file, "swapped": tmp_path / "images.npy",
             "swapped, the images an .npz": tmp_path / "images.npz"}[case]
    if case == "not a model":
        model.write_text("not an archive")
    if case == "swapped":  # `xpnet predict images.npy model.npz`
        np.save(model, images[:2])
    if case == "swapped, the images an .npz":  # (both zipped: the model is the checkpoint)
        np.savez(model, images=images[:2])
    status, out, err = xpnet(capsys, "predict", model,
                             saved if case.startswith("swapped") else images_file)
    assert_one_error(status, out, err, {
        "missing": f"MODEL {model}: no such file; give a network that `xpnet train --save PATH` "
                   "wrote",
        "not a model": f"{model} is not a readable xpnet checkpoint",
        "images first": f"{model} is not a readable xpnet checkpoint: it is not an .npz",
        "swapped": f"{saved} is a zip archive (an .npz, such as a checkpoint), not images: give "
                   "the model first, then the images",
        "swapped, the images an .npz": f"{saved} is a zip archive (an .npz, such as a "
                                       "checkpoint), not images: give the model first, then "
                                       "the images"}[case])


@pytest.fixture
def small_model(tmp_path) -> tuple[Path, Network]:
    """(a model file, its network): a 784-10 network of random weights, for the predict tests
    that need no real data."""
    net = Network([784, 10], backend="numpy", seed=0)
    net.save(path := tmp_path / "small.npz")
    return path, net


@pytest.mark.parametrize(("value", "taken"), [(1.005, True), (-0.005, True), (1.02, False),
                                              (-0.02, False)])
def test_predict_takes_floats_just_outside_0_1_clipped_and_refuses_more(small_model, tmp_path,
                                                                       capsys, value, taken):
    """Rounding may put a pixel a little past 0 or 1 (PIXEL_SLACK, 0.01): taken, but clipped to
    [0, 1], as training never saw a pixel outside; farther is refused."""
    model, net = small_model
    X = np.random.default_rng(0).uniform(0.1, 0.9, (3, 784)).astype(np.float32)
    X[:, :300] = value
    np.save(path := tmp_path / "images.npy", X)
    status, out, err = xpnet(capsys, "predict", model, path, "--probabilities")
    if not taken:
        low, high = (value, X.max()) if value < 0 else (X.min(), value)
        assert_one_error(status, out, err, f"{path} holds floats from {low:g} to {high:g}, but "
                                           "a network takes pixels in [0, 1]")
        return
    assert status == 0 and "pixels in [0, 1], 900 just outside it clipped to it" in err, err
    clipped = np.clip(X, 0, 1)
    np.testing.assert_array_equal(cli_predict._npy_images(path, 784)[0], clipped)
    np.testing.assert_allclose(predicted(out)[1], net.forward(clipped), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("pixels", "warned"), [("all black", False), ("0 and 1", True)])
def test_predict_warns_of_0_1_images_only(small_model, tmp_path, capsys, pixels, warned):
    """Black-and-white 0/1 images, divided by 255 as pixels 0-255, are all but black: taken,
    with a warning. An all-black image (zeros, as uint8) is a plain image, not a 0/1 one."""
    images = np.zeros((2, 28, 28), np.uint8 if pixels == "all black" else np.int32)
    if pixels == "0 and 1":
        images[:, 10:20, 10:20] = 1
    np.save(path := tmp_path / "images.npy", images)
    status, out, err = xpnet(capsys, "predict", small_model[0], path)
    assert status == 0 and len(out.splitlines()) == 2, err
    assert ("holds whole numbers 0 and 1 only" in err) == warned, err
    assert ("give 0 and 255" in err) == warned, err


@pytest.mark.parametrize("outside", [0, 8])
def test_predict_counts_the_pixels_it_clipped_but_not_the_0s_and_1s(small_model, tmp_path,
                                                                    capsys, outside):
    """The summary: one image is "1 image"; float pixels exactly 0 or 1 are in [0, 1], and those
    at most PIXEL_SLACK outside it, bounds included, are taken and counted as clipped."""
    image = np.zeros(784)  # (float64: 1 + PIXEL_SLACK as it is)
    image[100:300], image[300:400] = 1.0, 0.5
    if outside:
        image[:5], image[5:8] = 1 + cli_predict.PIXEL_SLACK, -cli_predict.PIXEL_SLACK
    np.save(path := tmp_path / "image.npy", image)
    model = small_model[0]
    status, out, err = xpnet(capsys, "predict", model, path, "--backend", "numpy")
    assert status == 0 and len(out.splitlines()) == 1, err
    clipped = f", {outside} just outside it clipped to it" if outside else ""
    assert f"{path}: 1 image (.npy of float64 pixels in [0, 1]{clipped}), classified by the " \
           f"784-10 network of {model} on numpy" in err.splitlines(), err


@pytest.mark.parametrize("case", ["missing", "a folder", "a pipe", "a checkpoint", "a pickle"])
def test_predict_checks_the_images_file_before_reading_the_model(case, small_model, tmp_path,
                                                                capsys, monkeypatch, fifo):
    """A FILE that is no images is told without reading the model (nor, with --backend auto,
    probing CuPy); a named pipe is refused without waiting for a writer."""
    read = []

    def saved_network(*args):
        read.append(args)
        raise ValueError("the model was read")

    monkeypatch.setattr(cli_predict, "saved_network", saved_network)
    if case == "a pipe":
        path, message = fifo("images.npy"), "{file} is not a regular file"
    else:
        path = bad_predict_input(case, tmp_path, np.zeros((3, 28, 28), np.uint8))
        message = PREDICT_ERRORS[case]
    status, out, err = xpnet(capsys, "predict", small_model[0], path)
    assert not fifo.writer_came, "the pipe was opened: it waited for a writer"
    assert_one_error(status, out, err, message.format(file=path, model=small_model[0]))
    assert read == []


@pytest.mark.parametrize("form", [".npy", "IDX"])
def test_predict_images_that_become_a_named_pipe_while_the_model_is_read_are_refused(
        form, small_model, tmp_path, capsys, monkeypatch, fifo):
    """FILE was checked (a regular file, its first bytes) before the model was read, then read
    again by its name: a named pipe put there meanwhile was read, and waited for a writer.
    Each open of FILE is checked now."""
    path = fifo(f"images{form if form == '.npy' else ''}")  # (its writer ends a wait for it)
    pipe = path.rename(tmp_path / "pipe")
    images = np.zeros((2, 28, 28), np.uint8)
    if form == ".npy":
        np.save(path, images)
    else:
        idx_file(path, images)
    read_model = cli_predict.saved_network

    def pipe_put_there_meanwhile(*args):
        pipe.replace(path)
        return read_model(*args)

    monkeypatch.setattr(cli_predict, "saved_network", pipe_put_there_meanwhile)
    status, out, err = xpnet(capsys, "predict", small_model[0], path)
    assert not fifo.writer_came, "the pipe was opened: it waited for a writer"
    assert_one_error(status, out, err, f"{path} is not a regular file but a folder, a device or "
                                       "a pipe; give an IDX image file")


def test_predict_of_an_array_too_large_for_memory_is_one_line(small_model, tmp_path, capsys,
                                                            monkeypatch):
    np.save(path := tmp_path / "images.npy", np.zeros((2, 784), np.uint8))

    def out_of_memory(file, *args, load=np.load, **kwargs):  # (the model's file: read)
        if os.path.samestat(os.fstat(file.fileno()), os.stat(path)):
            raise MemoryError("Unable to allocate 7.45 TiB for an array")
        return load(file, *args, **kwargs)

    monkeypatch.setattr(np, "load", out_of_memory)
    status, out, err = xpnet(capsys, "predict", small_model[0], path)
    assert_one_error(status, out, err, f"{path}: its array needs more memory than is free: "
                                       "the file is damaged, or too large for this machine")


def test_predict_suggests_28x28_only_to_a_network_of_784_inputs(tmp_path, capsys):
    Network([4, 3], backend="numpy").save(model := tmp_path / "small.npz")
    np.save(path := tmp_path / "images.npy", np.zeros((2, 784), np.uint8))
    status, out, err = xpnet(capsys, "predict", model, path)
    assert_one_error(status, out, err, f"{path} holds images of 784 pixels, but {model} holds "
                                       "a 4-3 network, which takes 4: give images of 4 pixels")
    assert err.endswith("give images of 4 pixels\n"), err


def test_predict_on_an_unusable_backend_gives_the_install_hint_in_option_terms(
        small_model, tmp_path, capsys, monkeypatch):
    """(Wherever CuPy works too.) The hint's ">=14" is no option's value to rewrite."""
    monkeypatch.setattr("xpnet.backend._cupy_backend_or_reason",
                        lambda: "CuPy cannot be imported (ModuleNotFoundError)")
    np.save(path := tmp_path / "images.npy", np.zeros((2, 784), np.uint8))
    status, out, err = xpnet(capsys, "predict", small_model[0], path, "--backend", "cupy")
    assert_one_error(status, out, err, "backend 'cupy' is unavailable: CuPy cannot be imported")
    assert 'pip install "cupy-cuda12x[ctk]>=14"' in err, err
    assert err.endswith("; or choose --backend numpy.\n"), err
