"""Property-based tests (hypothesis): backprop's gradient is right for any architecture.

Skipped where hypothesis is not installed (a GPU machine without the dev extras), so that the
other test modules still run there."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import OUTPUT_LOSS, numeric_gradient

from xpnet import Network
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
