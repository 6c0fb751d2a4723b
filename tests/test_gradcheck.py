"""check_gradient: backprop against central differences, as a user runs it on a network of
their own activation or loss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import OUTPUT_LOSS, numeric_gradient

import xpnet
from xpnet import Network, check_gradient
from xpnet.activations import HIDDEN, Activation
from xpnet.losses import Quadratic

SIZES = [4, 6, 5, 3]


def problem(rng, n=8, sizes=SIZES, output="softmax"):
    X = rng.normal(size=(n, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], size=n)
    if output == "identity":
        return X, rng.normal(size=(n, sizes[-1]))
    return X, labels if output == "softmax" else xpnet.one_hot(labels, sizes[-1])


class WrongSigmoid(Activation):
    """sigma with the derivative a user might write by mistake: a instead of a (1 - a)."""

    name = "wrong_sigmoid"

    def forward(self, xp, z):
        return 1.0 / (1.0 + xp.exp(-z))

    def derivative(self, xp, z, a):
        return a


class QuadraticWithoutGPrime(Quadratic):
    """delta_L = a_L - y, the cross-entropy's delta, given to the quadratic loss: right only
    where g' = 1."""

    name = "quadratic_without_g_prime"

    def delta(self, xp, z, a, y, output):
        return a - y


@pytest.mark.parametrize(("hidden", "output_loss"), list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_xpnets_backprop_passes_for_every_activation_output_and_loss(backend, hidden,
                                                                     output_loss, rng):
    output, loss = output_loss
    net = Network(SIZES, activation=hidden, output=output, loss=loss, backend=backend, seed=1)
    result = check_gradient(net, *problem(rng, output=output), entries=None)
    assert result.ok, f"\n{result}"
    assert result.max_rel_error < 1e-4, f"\n{result}"  # (float32 slopes: 1e-3 and more)
    assert [p.name for p in result.parameters] == ["W^(1)", "b^(1)", "W^(2)", "b^(2)",
                                                   "W^(3)", "b^(3)"]
    assert [p.checked for p in result.parameters] == [24, 6, 30, 5, 15, 3]
    assert str(result).endswith("OK: all 83 checked entries within |backprop - numeric| "
                                "<= 1e-05 + 0.001 |numeric|")


def test_the_slopes_are_central_differences_and_the_gradient_is_backprops(rng):
    """Each block's reported pair: backprop's dL/dtheta_i itself, and the central difference
    that the tests' own numeric_gradient takes (forward differences would be ~1e-6 off)."""
    net = Network(SIZES, activation="tanh", init="normal", dtype="float64", backend="numpy",
                  seed=3)  # (not the copy's own draw, seed 0: the check must take net's theta)
    X, y = problem(rng)
    _, grad = net.loss_and_gradient(X, y)
    grad, numeric = grad.copy(), numeric_gradient(net, X, y)
    offset = 0
    for p in check_gradient(net, X, y, entries=None).parameters:
        i = offset + int(np.ravel_multi_index(p.worst, p.shape))
        assert p.backprop == grad[i]
        assert p.numeric == pytest.approx(numeric[i], rel=1e-8, abs=1e-12)
        offset += int(np.prod(p.shape))
    assert offset == net.num_params


def test_a_wrong_derivative_fails_in_the_layers_it_feeds(rng):
    net = Network(SIZES, activation=WrongSigmoid(), backend="numpy")
    result = check_gradient(net, *problem(rng), entries=None)
    assert not result.ok
    failed = {p.name: p.failed for p in result.parameters}
    # g' of the hidden layers enters delta^(1) and delta^(2), not delta^(3) = a_L - y
    assert failed["W^(1)"] > 12 and failed["b^(1)"] > 3 and failed["W^(2)"] > 15
    assert failed["W^(3)"] == failed["b^(3)"] == 0
    worst = result.parameters[2]  # W^(2): the most failures
    assert abs(worst.backprop - worst.numeric) > 1e-3 * abs(worst.numeric)
    assert len(worst.worst) == 2 and 0 <= worst.worst[0] < 5 and 0 <= worst.worst[1] < 6
    assert "FAILED" in str(result) and "W^(2)[" in str(result)


def test_a_wrong_delta_of_a_loss_fails_everywhere(rng):
    net = Network(SIZES, output="sigmoid", loss=QuadraticWithoutGPrime(), backend="numpy")
    result = check_gradient(net, *problem(rng, output="sigmoid"))
    assert all(p.failed > 0 for p in result.parameters), f"\n{result}"


def test_a_float32_network_is_checked_in_float64_and_left_as_it_was(rng):
    net = Network([784, 30, 10], backend="numpy")
    X, y = problem(rng, n=16, sizes=[784, 30, 10])
    net.loss_and_gradient(X, y)
    theta, grad = net.theta.copy(), net.grad.copy()
    result = check_gradient(net, X, y)
    assert result.ok and result.max_rel_error < 1e-4, f"\n{result}"  # (float32: 1e-2)
    assert net.dtype == "float32" and net.theta.dtype == np.float32
    np.testing.assert_array_equal(net.theta, theta)
    np.testing.assert_array_equal(net.grad, grad)


def test_entries_draws_that_many_entries_of_each_block_with_the_seed(rng):
    net = Network([784, 30, 10], backend="numpy")
    X, y = problem(rng, n=4, sizes=[784, 30, 10])
    result = check_gradient(net, X, y, entries=7, seed=5)
    assert [p.checked for p in result.parameters] == [7, 7, 7, 7]
    assert [p.checked for p in check_gradient(net, X, y).parameters] == [20, 20, 20, 10]
    again = check_gradient(net, X, y, entries=7, seed=5)
    other = check_gradient(net, X, y, entries=7, seed=6)
    assert [p.worst for p in again.parameters] == [p.worst for p in result.parameters]
    assert [p.worst for p in other.parameters] != [p.worst for p in result.parameters]


def test_the_tolerance_is_atol_plus_rtol_times_the_numeric_slope(rng):
    net = Network(SIZES, backend="numpy")
    X, y = problem(rng)
    error = check_gradient(net, X, y, entries=None).max_rel_error
    assert error > 0
    assert check_gradient(net, X, y, atol=0.0, rtol=error * 2).ok
    strict = check_gradient(net, X, y, atol=0.0, rtol=error / 2)
    assert not strict.ok and sum(p.failed for p in strict.parameters) >= 1
    # no tolerance at all: only entries where both are exactly equal pass
    assert not check_gradient(net, X, y, atol=0.0, rtol=0.0).ok


@pytest.mark.parametrize(("option", "value", "message"), [
    ("entries", 0, "entries must be a whole number >= 1"),
    ("entries", 2.5, "entries must be a whole number >= 1"),
    ("eps", 0.0, "eps must be a finite number > 0"),
    ("eps", float("nan"), "eps must be a finite number > 0"),
    ("atol", -1e-5, "atol must be a finite number >= 0"),
    ("rtol", "1e-3", "rtol must be a finite number >= 0"),
    ("rtol", True, "rtol must be a finite number >= 0"),
])
def test_bad_options_are_refused(option, value, message, rng):
    net = Network(SIZES, backend="numpy")
    with pytest.raises(ValueError, match=message):
        check_gradient(net, *problem(rng), **{option: value})


def test_bad_data_get_the_networks_own_errors(rng):
    net = Network(SIZES, backend="numpy")
    X, y = problem(rng)
    with pytest.raises(ValueError, match="X has 3 features per sample but the input layer"):
        check_gradient(net, X[:, :3], y)
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        check_gradient(net, X, y + 3)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        check_gradient(net, X, y, seed=0.5)
    with pytest.raises(TypeError, match="net must be an xpnet.Network, got dict"):
        check_gradient({"sizes": SIZES}, X, y)
