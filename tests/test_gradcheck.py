"""check_gradient: backprop against central differences, as a user runs it on a network of
their own activation or loss."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
from conftest import OUTPUT_LOSS, numeric_gradient

import xpnet
from xpnet import Network, check_gradient
from xpnet.activations import HIDDEN, Activation
from xpnet.gradcheck import GradientCheck, ParameterCheck
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


def flat_index(net, p, index) -> int:
    """Where entry ``index`` of the block ``p`` (W^(l) or b^(l)) sits in theta."""
    names = [f"{kind}^({l})" for l in range(1, net.num_layers + 1) for kind in "Wb"]
    shapes = [shape for W in net.weights for shape in (W.shape, W.shape[:1])]
    offset = sum(int(np.prod(shape)) for shape in shapes[:names.index(p.name)])
    return offset + int(np.ravel_multi_index(index, p.shape))


@pytest.mark.parametrize("entries", [None, 7])
def test_each_entry_holds_backprops_gradient_and_the_central_difference(entries, rng):
    """Per checked entry: backprop's dL/dtheta_i itself, and the central difference that the
    tests' own numeric_gradient takes (forward differences would be ~1e-6 off)."""
    net = Network(SIZES, activation="tanh", init="normal", dtype="float64", backend="numpy",
                  seed=3)  # (not the copy's own draw, seed 0: the check must take net's theta)
    X, y = problem(rng)
    _, grad = net.loss_and_gradient(X, y)
    grad, numeric = grad.copy(), numeric_gradient(net, X, y)
    for p in check_gradient(net, X, y, entries=entries).parameters:
        size = int(np.prod(p.shape))
        assert p.checked == len(set(p.indices)) == (min(7, size) if entries else size)
        for index, analytic, slope in zip(p.indices, p.backprop, p.numeric, strict=True):
            i = flat_index(net, p, index)
            assert analytic == grad[i]
            assert slope == pytest.approx(numeric[i], rel=1e-8, abs=1e-12)


def test_a_wrong_derivative_fails_in_the_layers_it_feeds(rng):
    net = Network(SIZES, activation=WrongSigmoid(), backend="numpy")
    result = check_gradient(net, *problem(rng), entries=None)
    assert not result.ok
    failed = {p.name: p.failed for p in result.parameters}
    # g' of the hidden layers enters delta^(1) and delta^(2), not delta^(3) = a_L - y
    assert failed["W^(1)"] > 12 and failed["b^(1)"] > 3 and failed["W^(2)"] > 15
    assert failed["W^(3)"] == failed["b^(3)"] == 0
    # the last line names the entry furthest outside its tolerance, of all blocks
    block = max(result.parameters, key=lambda p: max(p.excesses()))
    n = int(np.argmax(block.excesses()))
    assert block.worst == n
    assert str(result).splitlines()[-1].endswith(
        f"the worst: {block.name}{list(block.indices[n])}: backprop {block.backprop[n]:.6g}, "
        f"numeric {block.numeric[n]:.6g}")


def test_an_entry_passes_within_atol_plus_rtol_times_the_numeric_slope(rng):
    net = Network(SIZES, activation=WrongSigmoid(), backend="numpy")
    X, y = problem(rng)
    pairs = np.array([pair for p in check_gradient(net, X, y, entries=None).parameters
                      for pair in zip(p.backprop, p.numeric)])
    errors = np.abs(pairs[:, 0] - pairs[:, 1])
    backprop, numeric = np.abs(pairs).T
    atol, rtol = np.median(errors) / 2, float(np.median(errors / numeric)) / 2
    expected = int(np.sum(errors > atol + rtol * numeric))
    assert 0 < expected < len(pairs)
    # (the other rules one might write give other counts here)
    assert np.sum(errors > atol + rtol * backprop) != expected
    assert np.sum(errors > np.maximum(atol, rtol * numeric)) != expected
    result = check_gradient(net, X, y, entries=None, atol=atol, rtol=rtol)
    assert sum(p.failed for p in result.parameters) == expected
    excesses = [e for p in result.parameters for e in p.excesses()]
    np.testing.assert_allclose(excesses, errors / (atol + rtol * numeric), rtol=1e-12)
    # no tolerance at all: only entries where both are exactly equal pass
    assert not check_gradient(net, X, y, atol=0.0, rtol=0.0).ok


class NaNDerivative(WrongSigmoid):
    def derivative(self, xp, z, a):
        return z * float("nan")


class NaNForward(WrongSigmoid):
    def forward(self, xp, z):
        return xp.log(z)  # NaN where z < 0

    def derivative(self, xp, z, a):
        return 1.0 / z


@pytest.mark.parametrize("activation", [NaNDerivative, NaNForward])
def test_nan_fails_and_never_passes_as_a_small_error(activation, rng):
    """NaN compares False with everything: |NaN| <= tolerance must count as a failure."""
    net = Network(SIZES, activation=activation(), backend="numpy")
    with np.errstate(invalid="ignore", divide="ignore"):
        result = check_gradient(net, *problem(rng))
    assert not result.ok
    assert result.parameters[0].failed == result.parameters[0].checked
    assert result.max_rel_error == float("inf")
    assert "FAILED" in str(result) and "nan" in str(result)


def test_a_wrong_delta_of_a_loss_fails_everywhere(rng):
    net = Network(SIZES, output="sigmoid", loss=QuadraticWithoutGPrime(), backend="numpy")
    result = check_gradient(net, *problem(rng, output="sigmoid"))
    assert all(p.failed > 0 for p in result.parameters), f"\n{result}"


def test_the_network_is_checked_in_float64_and_left_as_it_was(rng):
    net = Network([784, 30, 10], backend="numpy")
    X, y = problem(rng, n=16, sizes=[784, 30, 10])
    net.fit(X, y, epochs=1, batch_size=4, progress=False)
    net.loss_and_gradient(X, y)
    theta, grad = net.theta.copy(), net.grad.copy()
    # (fit's shuffling stream, (seed, Generator): its repr shows no state, so the state itself)
    seed, generator = net._shuffling
    state = copy.deepcopy(generator.bit_generator.state)
    result = check_gradient(net, X, y)
    assert result.ok and result.max_rel_error < 1e-4, f"\n{result}"  # (float32: about 1)
    assert net.dtype == "float32" and net.theta.dtype == np.float32
    np.testing.assert_array_equal(net.theta, theta)
    np.testing.assert_array_equal(net.grad, grad)
    # (the next fit shuffles as it would have)
    assert net._shuffling[0] == seed and net._shuffling[1].bit_generator.state == state
    assert np.shares_memory(net.weights[0], net.theta)


class Float32Tanh(Activation):
    """tanh computed in float32 whatever z's dtype: a cast a user's own activation may hold.
    Its derivative is right."""

    name = "float32_tanh"

    def forward(self, xp, z):
        return xp.tanh(xp.astype(z, xp.float32))

    def derivative(self, xp, z, a):
        return 1.0 - a * a


class Float32Quadratic(Quadratic):
    """The quadratic loss, its costs cast to float32; its delta is right."""

    name = "float32_quadratic"

    def per_sample(self, xp, z, a, y):
        return xp.astype(super().per_sample(xp, z, a, y), xp.float32)


def test_an_activation_or_a_loss_that_computes_in_float32_is_named_not_its_derivative(
        backend, rng):
    """Such a cast made the float64 slopes float32's, and the check failed the W and b of
    the layers before it: it blamed derivatives that were right."""
    net = Network(SIZES, activation=Float32Tanh(), backend=backend)
    with pytest.raises(ValueError, match=r"^the check runs in float64, but the activation "
                                         r"Float32Tanh\(\) of layer 1 returns .*float32 for a "
                                         r"float64 z\^\(1\): a step of eps=1e-06 would be lost"):
        check_gradient(net, *problem(rng))
    net = Network(SIZES, output="sigmoid", loss=Float32Quadratic(), backend=backend)
    with pytest.raises(ValueError, match=r"^the check runs in float64, but the loss "
                                         r"Float32Quadratic\(\) gives .*float32 for a float64 "
                                         r"a\^\(3\)"):
        check_gradient(net, *problem(rng, output="sigmoid"))


def test_entries_draws_that_many_of_each_block_with_the_seed(rng):
    net = Network([784, 30, 10], backend="numpy")
    X, y = problem(rng, n=4, sizes=[784, 30, 10])

    def drawn(**options):
        return [p.indices for p in check_gradient(net, X, y, **options).parameters]

    assert [len(indices) for indices in drawn()] == [20, 20, 20, 10]
    assert [len(indices) for indices in drawn(entries=7, seed=None)] == [7, 7, 7, 7]
    # seed=None: a fresh draw each time (the same 7 of W^(1)'s 23,520 twice: about 1e-27)
    assert drawn(entries=7, seed=None)[0] != drawn(entries=7, seed=None)[0]
    assert drawn(entries=7, seed=5) == drawn(entries=7, seed=5)
    assert drawn(entries=7, seed=5) != drawn(entries=7, seed=6)


def test_an_eps_below_float64s_spacing_is_refused(rng):
    net = Network(SIZES, backend="numpy")
    with pytest.raises(ValueError, match="eps=1e-300 is below float64's spacing at theta_i"):
        check_gradient(net, *problem(rng), eps=1e-300)


@pytest.mark.parametrize(("option", "value", "error", "message"), [
    ("entries", 0, ValueError, "entries must be a whole number >= 1"),
    ("entries", 2.5, TypeError, "entries must be a whole number >= 1"),
    ("eps", 0.0, ValueError, "eps must be a finite number > 0, got 0.0"),
    ("eps", float("nan"), ValueError, "eps must be a finite number, got nan"),
    ("atol", -1e-5, ValueError, "atol must be a finite number >= 0"),
    ("rtol", "1e-3", TypeError, "rtol must be a number, got '1e-3'"),
    ("rtol", True, TypeError, "rtol must be a number, got True"),
    ("atol", 10**400, ValueError, "atol must be a finite number, got 1000"),
])
def test_bad_options_are_refused(option, value, error, message, rng):
    net = Network(SIZES, backend="numpy")
    with pytest.raises(error, match=message):
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


# -- what a mutation run over backend.py, threads.py and gradcheck.py found untested ---------------
def test_the_difference_is_divided_by_the_step_float64_really_took():
    """At b = 1e8, float64's spacing is 1.5e-8: b + 1e-6 and b - 1e-6 round to a step 0.16%
    short of 2e-6. L = (b - y)^2 / 2 with b - y = 1 has slope 1 exactly, which the numbers
    give only when divided by that step, not by 2 eps."""
    net = Network([1, 1], output="identity", loss="quadratic", dtype="float64",
                  backend="numpy")
    net.theta[:] = [0.5, 1e8]  # w, b; with x = 0, z = b exactly
    result = check_gradient(net, np.zeros((1, 1)), np.array([[1e8 - 1]]), entries=None)
    assert result.parameters[1].backprop == (1.0,)
    assert result.parameters[1].numeric == pytest.approx((1.0,), rel=1e-9, abs=0)


def test_max_rel_error_is_the_largest_relative_difference_of_the_entries_above_atol(rng):
    """Per block, the largest |backprop - numeric| / max(|backprop|, |numeric|) of the entries
    where either is above atol: whichever of the two is larger in size, and whichever is
    the larger with its sign; of the whole check, the largest of the blocks'."""
    net = Network(SIZES, activation=WrongSigmoid(), backend="numpy")
    X, y = problem(rng)
    atol = 2e-2  # (some entries lie below it: rounding would dominate their ratios)
    result = check_gradient(net, X, y, entries=None, atol=atol)
    for p in result.parameters:
        backprop, numeric = np.array(p.backprop), np.array(p.numeric)
        scale = np.maximum(np.abs(backprop), np.abs(numeric))
        ratios = np.abs(backprop - numeric)[scale > atol] / scale[scale > atol]
        assert p.max_rel_error == pytest.approx(max(ratios, default=0.0), rel=1e-12), p.name
    assert result.max_rel_error == max(p.max_rel_error for p in result.parameters) > 0.1
    blocks = [ParameterCheck(name, (1,), ((0,),), (1.0,), (numeric,), atol, 1e-3)
              for name, numeric in (("W^(1)", 1.1), ("b^(1)", 2.0))]
    assert GradientCheck(tuple(blocks), 1e-6, 1).max_rel_error == 0.5


def test_the_report_names_the_worst_entry_of_all_blocks_not_the_first_block_that_fails():
    """W^(1) fails by a little, b^(1) by much more: the last line names b^(1)'s entry."""
    blocks = (ParameterCheck("W^(1)", (1, 2), ((0, 0), (0, 1)), (1.0, 1.0), (1.0, 1.1), 1e-5,
                             1e-3),
              ParameterCheck("b^(1)", (1,), ((0,),), (1.0,), (3.0,), 1e-5, 1e-3))
    lines = str(GradientCheck(blocks, 1e-6, 4)).splitlines()
    assert lines[0].endswith("(eps 1e-06, float64, the mean loss of 4 samples)")
    assert lines[-1] == ("FAILED: 2 of 3 checked entries outside |backprop - numeric| <= 1e-05 "
                         "+ 0.001 |numeric|; the worst: b^(1)[0]: backprop 1, numeric 3")


def test_blocks_whose_entries_are_all_within_atol_of_zero_are_reported_untested(rng):
    """A deep sigmoid network's first layers have slopes below atol, where any backprop value
    passes: a derivative half the right one showed "0.00e+00" and "0" failed there, as if
    checked and exact. With a smaller atol, the same check fails them."""
    class HalfSigmoidDerivative(Activation):
        def forward(self, xp, z):
            return 1.0 / (1.0 + xp.exp(-z))

        def derivative(self, xp, z, a):
            return 0.5 * a * (1.0 - a)

    sizes = [20] * 9 + [10]
    net = Network(sizes, activation=HalfSigmoidDerivative(), init="scaled", backend="numpy")
    X, y = problem(rng, n=32, sizes=sizes)
    lines = str(check_gradient(net, X, y)).splitlines()
    assert lines[2].split() == ["W^(1)", "(20,", "20)", "20", "-", "(<", "atol)", "0"]
    assert lines[-1].startswith("UNTESTED: W^(1), b^(1), ") and lines[-1].endswith(
        ": every entry checked is within atol=1e-05 of 0, where a wrong backprop passes if it "
        "is as small: a smaller atol (1e-9, say) tests those whose slopes are not 0"), lines[-1]
    assert check_gradient(net, X, y, atol=1e-9).parameters[0].failed > 0
    assert check_gradient(Network(sizes, init="scaled", backend="numpy"), X, y, atol=1e-9).ok


def test_every_entry_of_a_block_can_be_drawn(rng):
    """A draw of entries < size picks among all of them, the last one too: over 40 seeds one
    entry a block reaches each of b^(2)'s 5 and b^(3)'s 3."""
    net = Network(SIZES, backend="numpy")
    X, y = problem(rng)
    drawn = [set(), set()]
    for seed in range(40):
        blocks = check_gradient(net, X, y, entries=1, seed=seed).parameters
        for found, p in zip(drawn, (blocks[3], blocks[5])):
            found.update(p.indices)
    assert drawn == [{(j,) for j in range(5)}, {(j,) for j in range(3)}]
