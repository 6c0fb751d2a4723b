"""Property-based tests (hypothesis): backprop's gradient is right for any architecture, a
batch is the mean of its samples, labels are their one-hot rows, and a checkpoint resumes
any optimizer exactly.

Skipped where hypothesis is not installed (a GPU machine without the dev extras), so that the
other test modules still run there."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import OPTIMIZERS, OUTPUT_LOSS, numeric_gradient

from xpnet import Network, checkpoint
from xpnet.activations import HIDDEN

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed")
st = pytest.importorskip("hypothesis.strategies")


@hypothesis.settings(max_examples=30, deadline=None, derandomize=True)  # the same examples
@hypothesis.given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),  # in every run
                  batch=st.integers(1, 4), hidden=st.sampled_from(sorted(HIDDEN)),
                  output_loss=st.sampled_from(OUTPUT_LOSS), seed=st.integers(0, 2**16))
def test_gradient_is_right_for_any_architecture(sizes, batch, hidden, output_loss, seed):
    """Central differences agree for any layer widths (one output unit included) and batch."""
    output, loss = output_loss
    # refused: a softmax of one unit is constant
    hypothesis.assume(output != "softmax" or sizes[-1] > 1)
    net = Network(sizes, activation=hidden, output=output, loss=loss, init="normal",
                  backend="numpy", dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    y = rng.integers(0, max(sizes[-1], 2), size=batch)
    analytic = net.loss_and_gradient(X, y)[1].copy()
    numeric = numeric_gradient(net, X, y)
    assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


architectures = st.lists(st.integers(1, 5), min_size=2, max_size=4)


@hypothesis.settings(max_examples=30, deadline=None, derandomize=True)
@hypothesis.given(sizes=architectures, batch=st.integers(2, 6), data=st.data(),
                  hidden=st.sampled_from(sorted(HIDDEN)),
                  output_loss=st.sampled_from(OUTPUT_LOSS), seed=st.integers(0, 2**16))
def test_a_batch_is_the_weighted_mean_of_any_split_and_any_order(sizes, batch, data, hidden,
                                                                 output_loss, seed):
    """L = (1/B) sum_i C_i: the loss and gradient of a batch are the size-weighted means of
    those of its two parts, wherever it is split (a last, partial batch divides by its own
    size), and do not depend on the order of its rows."""
    output, loss = output_loss
    hypothesis.assume(output != "softmax" or sizes[-1] > 1)
    net = Network(sizes, activation=hidden, output=output, loss=loss, backend="numpy",
                  dtype="float64", seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, sizes[0]))
    y = rng.integers(0, max(sizes[-1], 2), size=batch)
    split = data.draw(st.integers(1, batch - 1), label="split")
    order = rng.permutation(batch)

    def loss_and_grad(rows):
        value, grad = net.loss_and_gradient(X[rows], y[rows])
        return float(value), grad.copy()

    whole, grad = loss_and_grad(slice(None))
    (first, grad_first), (second, grad_second) = (loss_and_grad(slice(None, split)),
                                                  loss_and_grad(slice(split, None)))
    mean = (split * first + (batch - split) * second) / batch
    assert whole == pytest.approx(mean, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(grad, (split * grad_first + (batch - split) * grad_second)
                               / batch, rtol=1e-10, atol=1e-14)
    shuffled, grad_shuffled = loss_and_grad(order)
    assert shuffled == pytest.approx(whole, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(grad_shuffled, grad, rtol=1e-10, atol=1e-14)


@hypothesis.settings(max_examples=20, deadline=None, derandomize=True)
@hypothesis.given(sizes=st.lists(st.integers(2, 5), min_size=2, max_size=4),
                  batch=st.integers(1, 6), output=st.sampled_from(["softmax", "sigmoid"]),
                  seed=st.integers(0, 2**16))
def test_class_indices_and_their_one_hot_rows_are_the_same_targets(sizes, batch, output, seed):
    """y as class indices is y as one-hot rows: the same loss, gradient and accuracy."""
    net = Network(sizes, activation="tanh", output=output, backend="numpy", dtype="float64",
                  seed=seed)
    rng = np.random.default_rng(seed)
    X, labels = rng.normal(size=(batch, sizes[0])), rng.integers(0, sizes[-1], size=batch)
    rows = np.eye(sizes[-1])[labels]
    by_label, grad = net.loss_and_gradient(X, labels)
    grad = grad.copy()
    by_row, grad_rows = net.loss_and_gradient(X, rows)
    assert float(by_label) == float(by_row)
    np.testing.assert_array_equal(grad, grad_rows)
    assert net.accuracy(X, labels) == net.accuracy(X, rows)


@hypothesis.settings(max_examples=20, deadline=None, derandomize=True)
@hypothesis.given(sizes=architectures, make=st.sampled_from(OPTIMIZERS),
                  steps=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_a_checkpoint_resumes_any_optimizer_where_it_stopped(sizes, make, steps, seed):
    """Saved after some steps and read back into a fresh network and a default-built optimizer
    of the same class, the next step is bitwise the one the original takes."""
    net = Network(sizes, activation="sigmoid", output="sigmoid", backend="numpy", seed=seed)
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(5, sizes[0])).astype(np.float32), rng.integers(0, 2, 5)
    optimizer = make()
    for _ in range(steps):
        optimizer.step(net.theta, net.loss_and_gradient(X, y)[1])
    with tempfile.TemporaryDirectory() as folder:
        header, arrays = checkpoint.read(
            checkpoint.save(Path(folder) / "run.npz", net, optimizer=optimizer))
    restored = checkpoint.restore((header, arrays), "numpy")[0]
    resumed = type(optimizer)()
    resumed.load_state_dict(checkpoint.optimizer_state(header, arrays))
    np.testing.assert_array_equal(restored.theta, net.theta)
    for model, opt in ((net, optimizer), (restored, resumed)):
        opt.step(model.theta, model.loss_and_gradient(X, y)[1])
    np.testing.assert_array_equal(restored.theta, net.theta)
