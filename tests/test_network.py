"""The network and backprop: gradients against finite differences, the lecture's per-sample form,
backend parity, learning on small problems, and the errors bad input gets."""

from __future__ import annotations

import copy
import inspect
import itertools
import math
import pickle
import re

import numpy as np
import pytest
from conftest import OUTPUT_LOSS, assert_hinted, learnable, linearly_separable, numeric_gradient

import xpnet
from xpnet import Network, one_hot
from xpnet.activations import HIDDEN
from xpnet.losses import LOSSES

SIZES = [3, 5, 4, 3]


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-30)


def problem(rng, n=6, sizes=SIZES):
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    return X, y


@pytest.mark.parametrize("backend_name", ["numpy", "strict"])
@pytest.mark.parametrize(("hidden", "output_loss"), list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_gradient_matches_central_differences(backend_name, hidden, output_loss, rng):
    from conftest import make_backend

    backend = make_backend(backend_name)
    output, loss = output_loss
    net = Network(SIZES, activation=hidden, output=output, loss=loss, init="normal",
                  backend=backend, dtype="float64", seed=3)
    X, y = problem(rng)
    _, grad = net.loss_and_gradient(X, y)
    analytic = backend.to_numpy(grad).copy()
    assert relative_error(analytic, numeric_gradient(net, X, y)) < 1e-6


def test_backprop_is_the_lecture_algorithm_written_with_columns(rng):
    """The lecture's summary, literally, for its network (sigmoid layers, quadratic cost):
    each sample a column x^(i); a^(0) = x, z^(l) = W^(l) a^(l-1) + b^(l), a^(l) = sigma(z^(l));
    delta^(L) = (a^(L) - y) o sigma'(z^(L)), delta^(l) = ((W^(l+1))^T delta^(l+1)) o
    sigma'(z^(l)) for l = L-1..1; dC_i/dW^(l) = delta^(l) (a^(l-1))^T, dC_i/db^(l) = delta^(l);
    and the mini-batch's dL/dtheta = (1/B) sum_i dC_i/dtheta. Backprop over the rows of X
    gives the same numbers."""
    net = Network(SIZES, activation="sigmoid", output="sigmoid", loss="quadratic",
                  dtype="float64", backend="numpy")
    X, Y = rng.normal(size=(7, SIZES[0])), rng.random((7, SIZES[-1]))
    loss, _ = net.loss_and_gradient(X, Y)

    def sigma(z):
        return 1.0 / (1.0 + np.exp(-z))

    L, B = net.num_layers, X.shape[0]
    W = {l: np.array(net.weights[l - 1]) for l in range(1, L + 1)}
    b = {l: np.array(net.biases[l - 1]).reshape(-1, 1) for l in range(1, L + 1)}
    dW = {l: np.zeros_like(W[l]) for l in W}
    db = {l: np.zeros_like(b[l]) for l in b}
    cost = 0.0
    for i in range(B):
        a, z = {0: X[i].reshape(-1, 1)}, {}
        for l in range(1, L + 1):
            z[l] = W[l] @ a[l - 1] + b[l]
            a[l] = sigma(z[l])
        y = Y[i].reshape(-1, 1)
        cost += 0.5 * np.sum((a[L] - y) ** 2)
        delta = {L: (a[L] - y) * sigma(z[L]) * (1 - sigma(z[L]))}
        for l in range(L - 1, 0, -1):
            delta[l] = (W[l + 1].T @ delta[l + 1]) * sigma(z[l]) * (1 - sigma(z[l]))
        for l in range(1, L + 1):
            dW[l] += delta[l] @ a[l - 1].T / B
            db[l] += delta[l] / B
    assert float(loss) == pytest.approx(cost / B, rel=1e-12)
    for l in range(1, L + 1):
        np.testing.assert_allclose(net.weight_grads[l - 1], dW[l], rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(net.bias_grads[l - 1], db[l].ravel(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("output_loss", OUTPUT_LOSS)
def test_batch_gradient_is_mean_of_per_sample_gradients(output_loss, rng):
    """The lecture's dL/dtheta = (1/N) sum_i dC_i/dtheta, one sample at a time."""
    output, loss = output_loss
    net = Network(SIZES, activation="tanh", output=output, loss=loss, dtype="float64",
                  backend="numpy")
    X, y = problem(rng, n=9)
    batch = net.loss_and_gradient(X, y)[1].copy()
    per_sample = [net.loss_and_gradient(X[i:i + 1], y[i:i + 1])[1].copy() for i in range(9)]
    np.testing.assert_allclose(batch, np.mean(per_sample, axis=0), rtol=0, atol=1e-6)


def test_assigning_theta_copies_into_the_layers():
    """net.theta = net.theta - eta grad used to replace the vector and leave the layers' views
    on the old one: the network stopped learning and saved weights it did not use."""
    X, y = problem(np.random.default_rng(0), n=20)
    in_place, assigned = (Network(SIZES, activation="tanh", backend="numpy") for _ in range(2))
    vector = assigned.theta
    for _ in range(3):
        in_place.theta -= 0.1 * in_place.loss_and_gradient(X, y)[1]
        assigned.theta = assigned.theta - 0.1 * assigned.loss_and_gradient(X, y)[1]
    assert assigned.theta is vector
    np.testing.assert_array_equal(assigned.weights[0], in_place.weights[0])
    np.testing.assert_array_equal(assigned.forward(X), in_place.forward(X))
    with pytest.raises(ValueError, match=r"theta must have shape \(\d+,\), got \(3,\)"):
        assigned.theta = np.zeros(3)



def test_assigning_grad_copies_into_the_vector_backprop_writes():
    """net.grad = zeros used to replace the vector: backprop went on writing the old one behind
    weight_grads while loss_and_gradient returned the new one, all zeros."""
    X, y = problem(np.random.default_rng(0), n=20)
    net = Network(SIZES, activation="tanh", backend="numpy")
    vector = net.grad
    net.grad = np.zeros(net.num_params)
    _, grad = net.loss_and_gradient(X, y)
    assert grad is vector and net.grad is vector
    assert np.any(grad != 0)
    np.testing.assert_array_equal(net.weight_grads[0], grad[:net.weight_grads[0].size]
                                  .reshape(net.weight_grads[0].shape))
    with pytest.raises(ValueError, match=r"grad must have shape \(\d+,\), got \(3,\)"):
        net.grad = np.zeros(3)

def test_assigning_a_layer_copies_into_theta(backend, tmp_path):
    """The lecture's update layer by layer, W^(l) <- W^(l) - eta dL/dW^(l), written as an
    assignment: a list of views took the new array, apart from theta, so the network
    predicted with it while save(), deepcopy and the optimizers kept the untrained theta."""
    X, y = learnable(n=64)
    by_layer, by_theta = (Network([12, 8, 4], activation="tanh", backend=backend)
                          for _ in range(2))
    untrained = by_layer.accuracy(X, y)
    for _ in range(30):
        by_layer.loss_and_gradient(X, y)
        for l in range(by_layer.num_layers):
            by_layer.weights[l] = by_layer.weights[l] - 0.5 * by_layer.weight_grads[l]
            by_layer.biases[l] = by_layer.biases[l] - 0.5 * by_layer.bias_grads[l]
        by_theta.theta -= 0.5 * by_theta.loss_and_gradient(X, y)[1]
    to_numpy = by_layer.backend.to_numpy
    np.testing.assert_array_equal(to_numpy(by_layer.theta), to_numpy(by_theta.theta))
    assert by_layer.accuracy(X, y) == by_theta.accuracy(X, y) > untrained + 0.2
    by_layer.save(tmp_path / "m.npz")
    assert xpnet.load(tmp_path / "m.npz", backend=backend).accuracy(X, y) == \
        by_layer.accuracy(X, y)


@pytest.mark.parametrize(("index", "value", "error", "message"), [
    (0, np.zeros((3, 3)), ValueError, r"weights\[0\] must have shape \(5, 4\), got \(3, 3\)$"),
    # (W^T has W's size: the shapes, not the sizes, must match, or NumPy's own broadcasting
    # message would be all the user got)
    # (a Keras kernel, (n_in, n_out), is W^(l) transposed: said so)
    (0, np.zeros((4, 5)), ValueError, r"weights\[0\] must have shape \(5, 4\), got \(4, 5\); "
                                      r"W\^\(l\) has a row per neuron .* pass W\.T$"),
    (1, np.full((3, 5), np.nan), ValueError, r"weights\[1\] must be finite"),
    (0, np.full((5, 4), "1"), TypeError, r"weights\[0\] must hold real numbers"),
    (slice(0, 1), [np.zeros((5, 4))], TypeError, "assign one layer at a time"),
    (2, np.zeros((3, 5)), IndexError, r"weights\[2\] does not exist: weights\[l-1\] holds "
                                      r"layer l = 1..2 \(the input layer has none\)"),
])
def test_assigning_a_layer_takes_only_its_shape_of_finite_numbers(index, value, error,
                                                                  message):
    net = Network([4, 5, 3], backend="numpy")
    theta = net.theta.copy()
    with pytest.raises(error, match=message):
        net.weights[index] = value
    np.testing.assert_array_equal(net.theta, theta)


def test_a_bias_or_theta_given_as_a_row_is_told_to_be_a_vector():
    net = Network([4, 5, 3], backend="numpy")
    with pytest.raises(ValueError, match=r"biases\[0\] must have shape \(5,\), got \(1, 5\); "
                                         r"pass the values as a vector, \.ravel\(\)"):
        net.biases[0] = np.zeros((1, 5))
    with pytest.raises(ValueError, match=r"got \(43, 1\); pass the values as a vector"):
        net.theta = np.zeros((43, 1))
    with pytest.raises(ValueError, match=r"got \(2, 3\)$"):  # (not the size: no hint)
        net.biases[0] = np.zeros((2, 3))


def test_a_layer_assigned_a_list_or_updated_in_place_stays_a_view():
    net = Network([2, 3, 1], output="sigmoid", backend="numpy")
    net.biases[0] = [1, 2, 3]
    net.weights[1] -= 1.0  # (Python assigns the updated view back to itself)
    net.bias_grads[1] = [0.5]
    assert list(net.theta[6:9]) == [1, 2, 3] and net.grad[-1] == 0.5
    assert all(np.shares_memory(W, net.theta) for W in net.weights)
    assert len(net.weights) == 2 and repr(net.biases).startswith("[array([1., 2., 3.]")
    with pytest.raises(IndexError, match=r"biases\[-3\] does not exist"):
        net.biases[-3]  # (W^(L) is weights[L - 1]: an index from 1 is one too far)


def test_assigning_every_layer_at_once_copies_into_theta_or_nothing():
    """net.weights = [...] made the attribute a plain list, apart from theta: fit trained
    theta while the network predicted with the list, and save wrote theta."""
    net = Network([2, 3, 2], backend="numpy")
    ones, twos = np.ones((3, 2)), np.full((2, 3), 2.0)
    net.weights = [ones, twos]
    net.biases = (np.zeros(3), [5, 6])
    assert list(net.theta) == [1] * 6 + [0] * 3 + [2] * 6 + [5, 6]
    assert all(np.shares_memory(W, net.theta) for W in net.weights)
    net.weights = net.weights  # (itself: nothing to copy)
    before = net.theta.copy()
    for layers, message in [([ones], r"net.weights = ...: give 2 arrays, one per layer, got 1"),
                            ([ones * 3, np.ones((3, 3))],
                             r"weights\[1\] must have shape \(2, 3\), got \(3, 3\)")]:
        with pytest.raises(ValueError, match=message):
            net.weights = layers
    np.testing.assert_array_equal(net.theta, before)  # (the first layer was not copied either)
    net.weight_grads = [ones, twos]
    assert list(net.grad[:6]) == [1] * 6


def test_layers_assigned_from_views_of_each_other_are_copied_first():
    """net.weights = [W_2, W_1] wrote W_2 into layer 1, then read layer 1 for layer 2."""
    net = Network([3, 3, 3], backend="numpy", seed=0)
    first, second = (W.copy() for W in net.weights)
    net.weights = [net.weights[1], net.weights[0]]
    np.testing.assert_array_equal(net.weights[0], second)
    np.testing.assert_array_equal(net.weights[1], first)
    net.weights[0] = net.weights[0].T  # (an overlapping copy: not every backend allows it)
    np.testing.assert_array_equal(net.weights[0], second.T)


def test_theta_and_grad_assigned_from_views_of_themselves(backend):
    """net.theta = net.theta[::-1] reads theta as it writes it: copied first, as layers are."""
    net = Network([3, 4, 2], backend=backend, seed=0)
    theta = net.backend.to_numpy(net.theta).copy()
    net.theta = net.theta[::-1]
    np.testing.assert_array_equal(net.backend.to_numpy(net.theta), theta[::-1])
    net.grad = net.theta
    net.grad = net.grad[::-1]
    np.testing.assert_array_equal(net.backend.to_numpy(net.grad), theta)


def test_layers_copied_or_pickled_are_a_list_of_arrays_not_the_network():
    """LayerViews holds the network's check: copied as itself it dragged the network along,
    where the list it replaced copied only the arrays."""
    net = Network([3, 4, 2], backend="numpy")
    best = copy.deepcopy(net.weights)
    assert type(best) is list and len(best) == 2
    assert not np.shares_memory(best[0], net.theta)
    net.theta += 1.0
    np.testing.assert_array_equal(best[0] + 1.0, net.weights[0])
    assert type(pickle.loads(pickle.dumps(net.biases))) is list
    assert [a.shape for a in net.weights + net.biases] == [(4, 3), (2, 4), (4,), (2,)]
    assert [a.shape for a in [] + net.biases] == [(4,), (2,)]
    assert type(net.weights.copy()) is list


def test_parameters_are_views_of_one_flat_vector():
    net = Network([4, 3, 2], backend="numpy")
    assert [W.shape for W in net.weights] == [(3, 4), (2, 3)]
    assert [b.shape for b in net.biases] == [(3,), (2,)]
    net.set_theta(np.arange(net.num_params, dtype=np.float32))
    # layout: W_1 row-major, b_1, W_2, b_2
    np.testing.assert_array_equal(net.weights[0], np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(net.biases[0], [12, 13, 14])
    np.testing.assert_array_equal(net.weights[1], np.arange(15, 21).reshape(2, 3))
    net.theta *= 2  # an in-place update of theta is seen by every layer
    assert net.biases[1][1] == 2 * 22
    _, grad = net.loss_and_gradient(np.ones((2, 4)), [0, 1])
    assert grad is net.grad
    assert np.shares_memory(net.weight_grads[0], net.grad)


def test_same_seed_gives_identical_theta_on_every_backend(backend):
    reference = Network([7, 6, 3], backend="numpy", seed=42)
    net = Network([7, 6, 3], backend=backend, seed=42)
    np.testing.assert_array_equal(backend.to_numpy(net.theta), reference.theta)
    assert not np.array_equal(Network([7, 6, 3], backend="numpy", seed=43).theta,
                              reference.theta)


WIDE = [400, 300, 100]  # 120 000 and 30 000 weights: sample stds within ~1% of the true ones


@pytest.mark.parametrize(("init", "weight_std", "bias_std"), [
    ("normal", lambda n_in, n_out: 1.0, 1.0),
    ("scaled", lambda n_in, n_out: 1 / np.sqrt(n_in), 1.0),
    ("xavier", lambda n_in, n_out: np.sqrt(2 / (n_in + n_out)), 0.0),
    ("he", lambda n_in, n_out: np.sqrt(2 / n_in), 0.0),
])
def test_initial_weights_follow_the_documented_formulas(init, weight_std, bias_std):
    """A wrong std (e.g. 1/n_in for "scaled") or nonzero xavier/he biases draws other weights."""
    net = Network(WIDE, activation="sigmoid", init=init, backend="numpy", dtype="float64")
    assert net.init == init
    for W, n_in, n_out in zip(net.weights, WIDE[:-1], WIDE[1:], strict=True):
        std = weight_std(n_in, n_out)
        assert W.std() == pytest.approx(std, rel=0.03), (init, n_in, n_out)
        assert abs(W.mean()) < 0.03 * std
        assert np.abs(W).max() > 3.5 * std  # normal, not uniform (whose max is sqrt(3) std)
    biases = np.concatenate(net.biases)
    if bias_std == 0.0:
        np.testing.assert_array_equal(biases, 0.0)
    else:
        assert biases.std() == pytest.approx(bias_std, rel=0.1)  # 400 biases: ~3.5% noise


def test_every_init_draws_from_one_random_stream():
    """One seed gives the same draws whatever the init, each scaled by its std: W_1, b_1,
    W_2, b_2 in turn from NumPy's Generator (xavier and he draw the biases and zero them)."""
    sizes = [3, 4, 2]
    stds = {"normal": lambda n_in, n_out: 1.0,
            "scaled": lambda n_in, n_out: 1 / np.sqrt(n_in),
            "xavier": lambda n_in, n_out: np.sqrt(2 / (n_in + n_out)),
            "he": lambda n_in, n_out: np.sqrt(2 / n_in)}
    for init, std in stds.items():
        rng, expected = np.random.default_rng(7), []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            expected.append(rng.standard_normal(n_out * n_in) * std(n_in, n_out))
            biases = rng.standard_normal(n_out)
            expected.append(biases if init in ("normal", "scaled") else np.zeros(n_out))
        net = Network(sizes, init=init, seed=7, backend="numpy", dtype="float64")
        np.testing.assert_array_equal(net.theta, np.concatenate(expected), err_msg=init)


def test_float64_initial_weights_have_float64_precision():
    """Drawn in float64 and cast once: a float64 network does not start from float32 values."""
    theta = Network([50, 40, 10], backend="numpy", dtype="float64").theta
    assert np.mean(theta != theta.astype(np.float32)) > 0.99
    float32 = Network([50, 40, 10], backend="numpy").theta  # the same draw, rounded
    np.testing.assert_array_equal(float32, theta.astype(np.float32))


@pytest.mark.parametrize(("activation", "expected"), [
    ("relu", "he"), ("leaky_relu", "he"), ("sigmoid", "scaled"), ("tanh", "scaled"),
    ("identity", "scaled"),
])
def test_auto_init_is_he_for_relu_types_and_scaled_otherwise(activation, expected):
    """A "scaled" init for leaky_relu (or "he" for sigmoid) halves (doubles) the variance."""
    net = Network(WIDE, activation=activation, backend="numpy", dtype="float64")
    assert net.init == expected
    gain = 2.0 if expected == "he" else 1.0
    assert net.weights[0].std() == pytest.approx(np.sqrt(gain / WIDE[0]), rel=0.03)
    reference = Network(WIDE, activation=activation, init=expected, backend="numpy",
                        dtype="float64")
    np.testing.assert_array_equal(net.theta, reference.theta)


def test_float32_forward_is_bitwise_equal_on_numpy_and_strict(rng):
    from conftest import make_backend

    strict = make_backend("strict")
    X = rng.normal(size=(32, 10)).astype(np.float32)
    for hidden in HIDDEN:
        a = Network([10, 8, 4], activation=hidden, backend="numpy", seed=1).forward(X)
        b = Network([10, 8, 4], activation=hidden, backend=strict, seed=1).forward(X)
        assert a.dtype == np.float32
        np.testing.assert_array_equal(strict.to_numpy(b), a)


@pytest.mark.parametrize("output_loss", OUTPUT_LOSS)
def test_saturated_outputs_give_finite_loss_and_gradient(output_loss):
    output, loss = output_loss
    net = Network([2, 3], activation="sigmoid", output=output, loss=loss, backend="numpy")
    net.set_theta(np.full(net.num_params, 1e4, dtype=np.float32))  # z ~ 1e8: exp overflows
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # overflow, log(0), NaN
        value, grad = net.loss_and_gradient(np.array([[3.0, 5.0], [-4.0, -9.0]]), [0, 2])
    assert np.isfinite(float(value)) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_outputs_are_accurate_far_into_the_tails(backend, dtype):
    """The form (1 + tanh(z/2)) / 2 lost the last bits for z < -10 and gave exactly 0 from
    z = -17.3 in float32 (4e-8). Below z = -80 the exponent is capped: sigma stays at
    1 / (1 + e^80), a normal float32, and no overflow warns."""
    import math
    import warnings

    z = [-10.0, -17.0, -30.0, -79.0, 0.0, 4.0, 30.0, -80.0, -1000.0]
    exact = np.array([1.0 / (1.0 + math.exp(-max(v, -80.0))) for v in z])
    net = Network([1, 1], output="sigmoid", backend=backend, dtype=dtype)
    net.set_theta([1.0, 0.0])  # a_L = sigma(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (NumPy's overflow warning in exp would raise)
        a = backend.to_numpy(net.forward(backend.asarray([[v] for v in z], dtype)))[:, 0]
    np.testing.assert_allclose(a, exact, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert a[-1] >= np.finfo(dtype).tiny  # (not subnormal)


def gradient_descent(net, X, y, lr, steps):
    for _ in range(steps):
        _, grad = net.loss_and_gradient(X, y)
        net.theta -= lr * grad  # theta <- theta - eta dL/dtheta


def test_xor_is_learned(backend):
    X = backend.asarray([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
    y = backend.asarray([0, 1, 1, 0])
    net = Network([2, 8, 2], activation="tanh", output="softmax", backend=backend, seed=0)
    gradient_descent(net, X, y, lr=1.0, steps=500)
    assert net.accuracy(X, y) == 1.0


def two_moons(n, noise, rng):
    """Two interleaving half circles, labels 0 and 1 (scikit-learn's make_moons)."""
    t = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    label = rng.integers(0, 2, size=n)
    X = np.where(label[:, None] == 0, upper, lower) + rng.normal(scale=noise, size=(n, 2))
    return X.astype(np.float32), label


def test_two_moons_reach_97_percent(rng):
    X, y = two_moons(400, noise=0.1, rng=rng)
    net = Network([2, 32, 2], activation="relu", backend="numpy", seed=0)
    gradient_descent(net, X, y, lr=0.5, steps=1500)
    assert net.accuracy(X, y) >= 0.97


def test_labels_as_indices_or_one_hot_give_the_same_gradient(rng):
    net = Network(SIZES, backend="numpy", dtype="float64")
    X, y = problem(rng)
    by_index = net.loss_and_gradient(X, y)[1].copy()
    by_one_hot = net.loss_and_gradient(X, one_hot(y, SIZES[-1], dtype="float64"))[1]
    np.testing.assert_array_equal(by_index, by_one_hot)
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])


def test_predict_and_accuracy():
    net = Network([2, 2], activation="identity", output="identity", backend="numpy")
    net.set_theta([1, 0, 0, 1, 0, 0])  # W = I, b = 0: the output is the input
    X = np.array([[3.0, 1.0], [0.0, 2.0], [5.0, 4.0]])
    np.testing.assert_array_equal(net.predict(X), [0, 1, 0])
    assert net.accuracy(X, [0, 1, 1]) == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sizes": [784]}, ValueError, "at least two layers"),
        ({"sizes": [784, 0, 10]}, ValueError, "positive"),
        ({"sizes": [784, 2.5, 10]}, TypeError, "integers"),
        ({"sizes": 784}, TypeError, "list of layer widths"),
        ({"activation": "swish"}, ValueError, "'leaky_relu', 'relu', 'sigmoid'"),
        ({"output": "tanh"}, ValueError, "'tanh' is a hidden activation, not one xpnet takes "
                                         "for the output layer; choose one of \\['identity', "),
        ({"activation": "softmax"}, ValueError, "'softmax' is an output activation, not one "
                                                "xpnet takes for a hidden layer"),
        ({"output": "swish"}, ValueError, "unknown output activation 'swish'"),
        ({"loss": "hinge"}, ValueError, "'quadratic'"),
        # (Keras's and torch.nn's names: which of xpnet's they are)
        ({"loss": "mse", "output": "identity"}, ValueError,
         r"unknown loss 'mse': xpnet calls it 'quadratic': C_i = 1/2 \|\|a_i - y_i\|\|\^2"),
        ({"loss": "categorical_crossentropy"}, ValueError,
         "xpnet calls it 'softmax_cross_entropy', for output='softmax'"),
        ({"loss": "BCEWithLogitsLoss", "output": "sigmoid"}, ValueError,
         "xpnet calls it 'binary_cross_entropy', for output='sigmoid'"),
        ({"loss": "binary-crossentropy", "output": "sigmoid"}, ValueError,  # ("-" as "_")
         "xpnet calls it 'binary_cross_entropy', for output='sigmoid'"),
        ({"activation": "linear"}, ValueError, "xpnet calls it 'identity'"),
        # (xpnet's own names in another case, or misspelt: which one was meant)
        ({"activation": "ReLU"}, ValueError,
         r"^unknown hidden activation 'ReLU': xpnet calls it 'relu'; choose one of \['identity'"),
        ({"output": "sigmod"}, ValueError,
         r"^unknown output activation 'sigmod' \(did you mean 'sigmoid'\?\); choose one of "),
        ({"activation": "tahn"}, ValueError, r"\(did you mean 'tanh'\?\)"),
        ({"loss": "Quadratic"}, ValueError, r"^unknown loss 'Quadratic': xpnet calls it "
                                            r"'quadratic'; choose one of \['binary_cross"),
        ({"loss": "quadratc"}, ValueError, r"^unknown loss 'quadratc' \(did you mean "
                                           r"'quadratic'\?\); choose one of"),
        # (the lecture's "square loss" and "logistic loss")
        ({"loss": "square", "output": "sigmoid"}, ValueError, "xpnet calls it 'quadratic'"),
        ({"loss": "logistic", "output": "sigmoid"}, ValueError,
         "xpnet calls it 'binary_cross_entropy'"),
        ({"init": "uniform"}, ValueError, r"^unknown init 'uniform'; choose one of \['auto'"),
        # (Keras's RandomNormal draws N(0, 0.05^2): not xpnet's normal, N(0, 1))
        ({"init": "random_normal"}, ValueError, r"^unknown init 'random_normal'; choose one of"),
        ({"init": "glorot_uniform"}, ValueError, r"^unknown init 'glorot_uniform': xpnet calls "
                                                 r"it 'xavier' \(with the same variance"),
        ({"init": "he_normal"}, ValueError, r"^unknown init 'he_normal': xpnet calls it 'he';"),
        ({"init": "LeCun_normal"}, ValueError, "xpnet calls it 'scaled';"),
        ({"init": "Xavier"}, ValueError, "xpnet calls it 'xavier';"),
        ({"init": "xavir"}, ValueError, r"\(did you mean 'xavier'\?\)"),
        # (a longer name of another thing is not taken for a typo)
        ({"activation": "sigmoid_tanh"}, ValueError,
         r"^unknown hidden activation 'sigmoid_tanh'; choose one of"),
        # (nor another library's other activation: ELU, GELU, PReLU are no misspelt relu)
        *(({"activation": name}, ValueError, rf"^unknown hidden activation '{name}'; choose")
          for name in ("elu", "gelu", "prelu", "relu6")),
        ({"dtype": "float16"}, TypeError, "float32"),
        ({"output": "identity", "loss": "softmax_cross_entropy"}, ValueError, "output='softmax'"),
        ({"sizes": [4, 1], "output": "softmax"}, ValueError, "output='sigmoid'"),
        ({"backend": "tpu"}, ValueError, "'numpy'"),
    ],
)
def test_bad_construction_arguments_are_named(kwargs, error, message):
    kwargs = {"sizes": [4, 3, 2], "backend": "numpy"} | kwargs
    with pytest.raises(error, match=message):
        Network(**kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.dtype("float64"), "f8", "double"])
def test_dtype_may_be_given_as_a_numpy_dtype(dtype, tmp_path):
    """np.dtype("float64") == "float64", so it used to pass the check and then fail deep
    inside with "attribute name must be string"."""
    net = Network([3, 4, 2], backend="numpy", dtype=dtype)
    assert net.dtype == "float64" and net.theta.dtype == np.float64
    assert one_hot([1, 0], 2, dtype=dtype).dtype == np.float64
    net.save(tmp_path / "net.npz")  # the config is plain JSON
    assert xpnet.load(tmp_path / "net.npz").dtype == "float64"
    with pytest.raises(TypeError, match="float32"):
        Network([3, 2], backend="numpy", dtype=np.float16)
    with pytest.raises(TypeError, match="float32"):
        Network([3, 2], backend="numpy", dtype=None)  # (np.dtype(None) would be float64)


@pytest.mark.parametrize(
    ("X", "y", "error", "message"),
    [
        (np.zeros((5, 3)), np.zeros(5, int), ValueError, "3 features .* 4 neurons"),
        (np.zeros(4), np.zeros(1, int), ValueError, "2-D array"),
        (np.zeros((5, 4)), np.zeros(4, int), ValueError, "5 samples but y has 4"),
        (np.zeros((2, 4)), np.array([0, 2]), ValueError, r"0\.\.1"),
        (np.zeros((2, 4)), np.array([-1, 0]), ValueError, r"0\.\.1"),
        (np.zeros((2, 4)), np.array([0.0, 1.0]), TypeError, "integers"),
        (np.zeros((2, 4)), np.zeros((2, 3)), ValueError, "expected 2"),
        (np.zeros((2, 4)), np.zeros((2, 2)), ValueError, "sums to 1"),
        (np.array([[0, 0, 0, np.nan]] * 2), np.zeros(2, int), ValueError, "NaN or inf"),
        (np.array([[0, 0, np.inf, 0]] * 2), np.zeros(2, int), ValueError, "NaN or inf"),
        # finite in float64, inf in the network's float32: say why
        pytest.param(np.array([[0, 0, 1e40, 0]] * 2), np.zeros(2, int), ValueError,
                     r"X contains NaN or inf in float32 \(whose numbers end at 3.4e\+38: "
                     r"larger ones become inf\); clean, impute or scale"),
        # (beyond float32 in a float64 target: the same note, and no NumPy warning first)
        (np.zeros((2, 4)), np.array([[1e39, 0.0], [0.0, 1.0]]), ValueError,
         r"^y contains NaN or inf in float32 \(whose numbers end at 3.4e\+38: larger ones "
         r"become inf\)$"),
        # a cast used to drop the imaginary parts (a warning) or parse the strings silently
        (np.zeros((2, 4), complex), np.zeros(2, int), TypeError, "real numbers, .* complex128"),
        (np.zeros((2, 4)).astype(str), np.zeros(2, int), TypeError, "real numbers, .* <U32"),
        ([["1.5", "2", "0", "0"]] * 2, np.zeros(2, int), TypeError,
         "X must hold real numbers, got dtype <U3: convert the data to numbers first"),
        (np.zeros((2, 4)), np.zeros((2, 1), int), ValueError,
         r"expected 2 \(one per output neuron\); class indices are a vector .* y.ravel\(\)"),
        # the hint only for one column of integers
        (np.zeros((2, 4)), np.zeros((2, 3), int), ValueError,
         r"expected 2 \(one per output neuron\)$"),
        (np.zeros((2, 4)), np.zeros((2, 1)), ValueError, r"expected 2 \(one per output neuron\)$"),
        (np.zeros((2, 4)), np.array([[np.nan, 1.0], [0.0, 1.0]]), ValueError,
         "^y contains NaN or inf in float32 "),
        (np.zeros((2, 4)), np.zeros((2, 2, 1), int), ValueError,
         r"y must be class indices of shape \(2,\) or one-hot of shape \(2, 2\), got shape "
         r"\(2, 2, 1\)"),
    ],
)
@pytest.mark.filterwarnings("error")  # xpnet's message, not a NumPy warning before it
def test_bad_input_is_named(X, y, error, message):
    net = Network([4, 3, 2], backend="numpy")
    with pytest.raises(error, match=message):
        net.loss_and_gradient(X, y)


def test_softmax_targets_must_sum_to_one_within_rounding():
    net = Network([3, 5, 2], backend="numpy")
    X = np.zeros((4, 3))
    for rows_summing_to in (1.1, 1 - 2e-3):  # (the tolerance is 1e-3)
        with pytest.raises(ValueError, match="each row sums to 1"):
            net.loss_and_gradient(X, np.tile([0.6, rows_summing_to - 0.6], (4, 1)))
    net.loss_and_gradient(X, np.tile([0.6, 0.3995], (4, 1)))  # 1 - 5e-4: rounding, accepted


def test_softmax_targets_rounded_in_writing_get_the_gradient_of_their_loss():
    """Rows such as (0.333, 0.333, 0.333) are accepted; delta_L = a_L - y is the gradient of
    the cost only for rows that sum to 1, so they are scaled to: the gradient then matches
    finite differences of the loss, as for any other targets."""
    net = Network([3, 4, 3], activation="tanh", backend="numpy", dtype="float64", seed=1)
    X = np.random.default_rng(0).random((5, 3))
    Y = np.tile([0.3005, 0.3002, 0.4002], (5, 1))  # each row sums to 1.0009
    grad = net.loss_and_gradient(X, Y)[1].copy()
    np.testing.assert_allclose(grad, numeric_gradient(net, X, Y), rtol=1e-6, atol=1e-9)


def test_accuracy_names_one_hot_rows_of_the_wrong_width():
    net = Network([4, 3, 2], backend="numpy")
    for y in (np.eye(3)[[0, 2]], np.eye(3, dtype=int)[[0, 2]]):
        with pytest.raises(ValueError, match=r"one-hot y has 3 columns; expected 2 \(one per "
                                             r"output neuron\)$"):
            net.accuracy(np.zeros((2, 4)), y)
    with pytest.raises(ValueError, match=r"class indices are a vector .* pass y.ravel\(\)"):
        net.accuracy(np.zeros((2, 4)), np.array([[0], [1]]))


@pytest.mark.parametrize(("sizes", "output", "y", "low", "high"), [
    ([3, 4, 1], "sigmoid", np.full(6, 2.0), "2", "2"),
    ([3, 4, 1], "sigmoid", np.linspace(-1, 1, 6), "-1", "1"),
    ([3, 4, 2], "sigmoid", np.tile([0.0, 1.5], (6, 1)), "0", "1.5"),
    ([3, 4, 2], "softmax", np.tile([2.0, -1.0], (6, 1)), "-1", "2"),  # rows sum to 1
])
@pytest.mark.parametrize("backend_name", ["numpy", "strict"])
def test_cross_entropy_targets_outside_0_1_are_refused(sizes, output, y, low, high, backend_name):
    """They used to be accepted, and the loss fell without bound (below zero)."""
    from conftest import make_backend

    net = Network(sizes, output=output, backend=make_backend(backend_name))
    X = np.random.default_rng(0).normal(size=(6, 3))
    loss = {"sigmoid": "binary_cross_entropy", "softmax": "softmax_cross_entropy"}[output]
    message = (rf"{loss} needs targets in \[0, 1\] \(probabilities.*got values from {low} to "
               rf"{high}.* scale the targets into \[0, 1\]")
    for call in (lambda: net.loss_and_gradient(X, y), lambda: net.evaluate(X, y),
                 lambda: net.fit(X, y, epochs=1, progress=False)):
        with pytest.raises(ValueError, match=message):
            call()
    quadratic = Network(sizes, output=output, loss="quadratic", backend="numpy")
    assert float(quadratic.loss_and_gradient(X, y)[0]) >= 0  # any targets for the quadratic
    edges = np.clip(y, 0, 1)
    if output == "softmax":
        edges = np.tile([1.0, 0.0], (6, 1))
    assert float(net.loss_and_gradient(X, edges)[0]) >= 0  # 0 and 1 themselves are fine


def test_bad_input_on_strict_backend_is_named_too():
    from conftest import make_backend

    strict = make_backend("strict")
    net = Network([4, 3, 2], backend=strict)
    with pytest.raises(ValueError, match=r"0\.\.1"):
        net.accuracy(np.zeros((2, 4)), np.array([0, 5]))
    with pytest.raises(ValueError, match="NaN"):
        net.forward(np.full((1, 4), np.nan))


def test_complex_arrays_of_other_namespaces_are_refused_too():
    """A torch or array-API array has a dtype without NumPy's kind: complex X was cast to
    float32 with only NumPy's ComplexWarning (its imaginary parts dropped), where a NumPy
    complex array is refused."""
    xps = pytest.importorskip("array_api_strict")  # (a dev package: the GPU machine lacks it)

    net = Network([4, 3], backend="numpy")
    X = xps.asarray(np.full((2, 4), 1j))
    with pytest.raises(TypeError, match="X must hold real numbers, got dtype .*complex128"):
        net.forward(X)
    with pytest.raises(TypeError, match="theta must hold real numbers"):
        net.set_theta(xps.asarray(np.zeros(net.num_params, complex)))
    assert net.forward(xps.asarray(np.ones((2, 4)))).shape == (2, 3)  # real ones are taken


def test_a_tensor_of_a_dtype_numpy_lacks_is_named():
    """A bfloat16 tensor failed in torch's words, "Got unsupported ScalarType BFloat16"."""
    torch = pytest.importorskip("torch")
    net = Network([4, 3], backend="numpy")
    with pytest.raises(TypeError, match="X has dtype torch.bfloat16, which NumPy has no dtype "
                                        "for: convert it to float32 first"):
        net.forward(torch.ones((2, 4), dtype=torch.bfloat16))
    with pytest.raises(TypeError, match=r"labels has dtype torch.bfloat16, .* float32 first "
                                        r"\(class indices: to int64\)"):
        net.one_hot(torch.ones(2, dtype=torch.bfloat16))


# -- binary classification with one output neuron -------------------------------------------------
def test_one_output_neuron_learns_a_linearly_separable_set(backend, rng):
    X, y = linearly_separable(rng)
    net = Network([2, 4, 1], output="sigmoid", backend=backend, seed=0)
    gradient_descent(net, backend.asarray(X), backend.asarray(y), lr=1.0, steps=200)
    assert net.accuracy(X, y) >= 0.95
    predicted = backend.to_numpy(net.predict(X))
    assert set(np.unique(predicted)) == {0, 1}
    assert np.mean(predicted == y) == net.accuracy(X, y)
    # (n, 1) target rows give the same classes: y > 0.5
    assert net.accuracy(X, y.reshape(-1, 1).astype(np.float32)) == net.accuracy(X, y)


@pytest.mark.parametrize(("bias", "expected"), [(-3.0, 0.25), (3.0, 0.75), (0.25, 0.75)])
def test_one_output_neuron_reports_the_true_accuracy(backend, bias, expected):
    """All outputs on one side of 0.5: the accuracy is the share of that class, not 1.0 (an
    argmax over one column always says class 0). The class is a_L > 0.5: for z_L = 0.25,
    a_L = 0.56 is class 1, though z_L itself is below 0.5."""
    net = Network([2, 4, 1], output="sigmoid", backend=backend)
    net.set_theta(np.zeros(net.num_params))
    net.biases[-1][...] = backend.asarray([bias], "float32")  # a_L = sigmoid(bias) for all
    X = np.array([[0.0, 1.0], [2.0, -1.0], [-3.0, 0.5], [1.0, 1.0]])
    y = np.array([1, 1, 1, 0])
    assert net.accuracy(X, y) == expected
    assert net.accuracy(X, y.reshape(-1, 1).astype(np.float64)) == expected
    np.testing.assert_array_equal(backend.to_numpy(net.predict(X)), [int(bias > 0)] * 4)


def test_one_output_neuron_thresholds_at_one_half():
    net = Network([1, 1], activation="identity", output="identity", backend="numpy")
    net.set_theta([1.0, 0.0])  # a_L = x
    X = np.array([[0.2], [0.5], [0.51], [3.0], [-1.0]])
    np.testing.assert_array_equal(net.predict(X), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(net.classes(np.array([[0.5], [0.6]])), [0, 1])
    assert net.num_classes == 2
    np.testing.assert_array_equal(net.one_hot(np.array([1, 0])), [[0, 1], [1, 0]])
    many = Network([1, 3], backend="numpy")
    np.testing.assert_array_equal(many.classes(np.array([[0.1, 0.7, 0.2], [3.0, 0.0, 1.0]])),
                                  [1, 0])
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        many.classes(np.zeros((2, 1)))


def test_one_output_neuron_targets_are_the_labels_as_a_column(backend):
    net = Network([2, 1], output="sigmoid", backend=backend)
    Y = net._targets(np.array([1, 0, 1]), 3)
    assert tuple(Y.shape) == (3, 1)
    np.testing.assert_array_equal(backend.to_numpy(Y), [[1.0], [0.0], [1.0]])


@pytest.mark.parametrize("targets", [np.array([1.0, 0.0, 1.0]), np.array([True, False, True])])
def test_one_output_neuron_takes_a_vector_of_float_or_bool_labels(backend, targets):
    """0.0/1.0 or bool labels, as scikit-learn and Keras users pass them, are the (n, 1) targets."""
    net = Network([2, 4, 1], output="sigmoid", backend=backend, dtype="float64")
    X = np.array([[0.5, -1.0], [1.0, 2.0], [-0.3, 0.1]])
    as_column = targets.reshape(-1, 1).astype(float)
    for method in ("loss_and_gradient", "accuracy", "evaluate"):
        got = getattr(net, method)(X, targets)
        if method == "loss_and_gradient":  # (grad is net.grad: copied before the next call)
            got = float(got[0]), backend.to_numpy(got[1]).copy()
        expected = getattr(net, method)(X, as_column)
        if method == "loss_and_gradient":
            np.testing.assert_array_equal(got[1], backend.to_numpy(expected[1]))
            got, expected = got[0], float(expected[0])
        assert got == expected


def test_one_output_regression_takes_a_target_vector(backend, rng):
    """Regression with one identity output: y of shape (n,), float or integer, is the targets."""
    net = Network([3, 5, 1], activation="tanh", output="identity", backend=backend,
                  dtype="float64")
    X = rng.normal(size=(6, 3))
    y = rng.normal(size=6) * 10
    L, grad = net.loss_and_gradient(X, y)
    grad = backend.to_numpy(grad).copy()
    L_rows, grad_rows = net.loss_and_gradient(X, y.reshape(-1, 1))
    assert float(L) == float(L_rows)
    np.testing.assert_array_equal(grad, backend.to_numpy(grad_rows))
    counts = np.arange(6)  # integer targets (counts, ages) are targets too, not classes
    assert net.evaluate(X, counts)[0] == net.evaluate(X, counts.reshape(-1, 1).astype(float))[0]


def test_rows_of_several_labels_have_no_accuracy_and_one_hot_or_soft_rows_have(backend, rng):
    """Multi-hot rows (several labels a sample, a sigmoid output) counted as labels: the
    accuracy compared the largest output with the row's first 1, which means nothing. One-hot
    rows and a softmax's soft targets (label smoothing) name one class each."""
    X = rng.normal(size=(6, 3))
    labels = np.array([0, 1, 2, 2, 1, 0])
    multi_hot = np.eye(3)[labels] + np.eye(3)[(labels + 1) % 3]
    sigmoid = Network([3, 5, 3], output="sigmoid", backend=backend)
    assert sigmoid.evaluate(X, multi_hot)[1] is None
    with pytest.raises(ValueError, match=r"or rows with several 1s or none \(several labels "
                                         r"or none each\)"):
        sigmoid.accuracy(X, multi_hot)
    one_hot = np.eye(3)[labels]
    assert sigmoid.evaluate(X, one_hot)[1] == sigmoid.accuracy(X, labels)  # (Nielsen's ch. 3)
    # (bool rows: the strict array API has no argmax of bools, and accuracy took it of y)
    assert sigmoid.accuracy(X, one_hot.astype(bool)) == sigmoid.accuracy(X, labels)
    softmax = Network([3, 5, 3], backend=backend)
    smoothed = 0.9 * one_hot + 0.1 / 3
    assert softmax.evaluate(X, smoothed)[1] == softmax.accuracy(X, labels) is not None
    # a sigmoid's one-hot rows smoothed as Keras's BinaryCrossentropy(label_smoothing=0.1)
    # does (0.95, 0.05s: rows that sum to 1.05) name one class too; not for the quadratic loss
    keras_smoothed = one_hot * 0.9 + 0.05
    assert sigmoid.evaluate(X, keras_smoothed)[1] == sigmoid.accuracy(X, labels) is not None
    assert sigmoid.evaluate(X, multi_hot * 0.9 + 0.05)[1] is None
    quadratic = Network([3, 5, 3], output="sigmoid", loss="quadratic", backend=backend)
    assert quadratic.evaluate(X, keras_smoothed)[1] is None
    with pytest.raises(ValueError, match="watches the validation accuracy, but the validation "
                                         "targets are real-valued"):
        sigmoid.fit(X, multi_hot, epochs=1, progress=False, validation_split=0.5,
                    early_stopping=xpnet.EarlyStopping(monitor="val_accuracy"))


def test_real_valued_targets_have_no_accuracy(backend, rng):
    """A regression's targets are no class labels: evaluate gives no accuracy, and accuracy
    refuses them, saying which figure to read; 0/1 targets (one-hot rows, with one output
    0/1 labels, as floats, integers or bools) are labels, with an identity output too."""
    X = rng.normal(size=(6, 3))
    for sizes, y in (([3, 5, 1], rng.normal(size=6)), ([3, 5, 1], np.arange(6)),
                     ([3, 5, 2], rng.normal(size=(6, 2)))):
        net = Network(sizes, activation="tanh", output="identity", backend=backend)
        assert net.evaluate(X, y)[1] is None
        with pytest.raises(ValueError, match=re.escape(
                "accuracy needs class labels, one class a row, but the targets in y are "
                "real-valued (a regression), or rows with several 1s or none (several labels "
                "or none each), which have no accuracy. The figure to read is the loss, "
                "net.evaluate(X, y)[0]")):
            net.accuracy(X, y)
    labels = rng.integers(0, 2, size=6)
    net = Network([3, 5, 1], activation="tanh", output="identity", backend=backend)
    predicted = backend.to_numpy(net.predict(X))
    for y in (labels, labels.astype(np.float32), labels.astype(bool), labels.reshape(-1, 1)):
        assert net.accuracy(X, y) == net.evaluate(X, y)[1] == np.mean(predicted == labels)
    net = Network([3, 5, 2], activation="tanh", output="identity", backend=backend)
    assert net.accuracy(X, np.eye(2, dtype=np.uint8)[labels]) == net.evaluate(X, labels)[1]


@pytest.mark.parametrize("labels", [np.array([0, 2]), np.array([-1, 1])])
def test_one_output_neuron_rejects_labels_outside_0_1(labels):
    net = Network([2, 4, 1], output="sigmoid", backend="numpy")
    for call in (lambda: net.loss_and_gradient(np.zeros((2, 2)), labels),
                 lambda: net.accuracy(np.zeros((2, 2)), labels)):
        with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1"):
            call()


@pytest.mark.parametrize("backend_name", ["numpy", "strict"])
@pytest.mark.parametrize("loss", ["binary_cross_entropy", "quadratic"])
def test_one_output_neuron_gradient_matches_central_differences(backend_name, loss, rng):
    from conftest import make_backend

    backend = make_backend(backend_name)
    net = Network([3, 5, 1], activation="tanh", output="sigmoid", loss=loss, init="normal",
                  backend=backend, dtype="float64", seed=3)
    X = rng.normal(size=(6, 3))
    y = np.array([0, 1, 1, 0, 1, 0])
    _, grad = net.loss_and_gradient(X, y)
    analytic = backend.to_numpy(grad).copy()
    assert relative_error(analytic, numeric_gradient(net, X, y)) < 1e-6
    # labels and (n, 1) target rows are the same targets
    by_rows = backend.to_numpy(net.loss_and_gradient(X, y.reshape(-1, 1).astype(float))[1])
    np.testing.assert_array_equal(by_rows, analytic)


# -- empty input ----------------------------------------------------------------------------------
def test_no_samples_is_a_clear_error(backend):
    net = Network([4, 3, 2], backend=backend)
    X, y = np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="X has no samples"):
        net.accuracy(X, y)
    with pytest.raises(ValueError, match="X has no samples"):
        net.loss_and_gradient(X, y)
    assert tuple(net.forward(X).shape) == (0, 2)
    assert tuple(net.predict(X).shape) == (0,)


# -- inference in batches -------------------------------------------------------------------------
def test_inference_runs_in_batches_without_the_training_pass(backend, rng, monkeypatch):
    net = Network([5, 7, 6, 3], activation="relu", backend=backend, seed=2)
    X = backend.asarray(rng.normal(size=(10, 5)), "float32")
    y = rng.integers(0, 3, size=10)
    whole = backend.to_numpy(net._feedforward(X)[1][-1])
    expected_accuracy = float(np.mean(np.argmax(whole, axis=1) == y))

    def no_training_pass(X):
        raise AssertionError("inference must not keep every layer's z and a")

    rows = []
    infer = net._infer
    monkeypatch.setattr(net, "_feedforward", no_training_pass)
    monkeypatch.setattr(net, "_infer", lambda X: rows.append(X.shape[0]) or infer(X))
    # one batch: bitwise the training pass's output
    np.testing.assert_array_equal(backend.to_numpy(net.forward(X)), whole)
    assert rows == [10]
    rows.clear()
    np.testing.assert_allclose(backend.to_numpy(net.forward(X, batch_size=3)), whole,
                               rtol=1e-6, atol=1e-7)
    assert rows == [3, 3, 3, 1]
    np.testing.assert_array_equal(backend.to_numpy(net.predict(X, batch_size=4)),
                                  np.argmax(whole, axis=1))
    assert net.accuracy(X, y, batch_size=3) == pytest.approx(expected_accuracy)
    assert net.accuracy(X, y) == pytest.approx(expected_accuracy)


@pytest.mark.parametrize(("batch_size", "error"), [(0, ValueError), (-1, ValueError),
                                                   (2.5, TypeError), (True, TypeError),
                                                   (None, TypeError)])
def test_bad_inference_batch_size_is_named(batch_size, error):
    net = Network([2, 2], backend="numpy")
    with pytest.raises(error, match="batch_size must be an integer >= 1"):
        net.forward(np.zeros((3, 2)), batch_size=batch_size)


@pytest.mark.parametrize("rows", [5, 3000])
def test_forward_returns_row_major_outputs_on_numpy(rows):
    # NumPy runs the products as the lecture writes them, (W @ a.T).T: a transposed view inside
    X = np.random.default_rng(0).random((rows, 6), dtype=np.float32)
    out = Network([6, 4, 3], backend="numpy").forward(X, batch_size=1024)
    assert out.shape == (rows, 3) and out.flags.c_contiguous


@pytest.mark.parametrize("hidden", sorted(HIDDEN))
def test_both_product_orientations_compute_the_same_network(hidden, rng):
    """Backend.samples_as_columns: (W @ a.T).T (NumPy's choice) and a @ W.T (CuPy's) are the
    same sums: the same loss, gradient and outputs, each in the layout it promises."""
    import dataclasses

    from xpnet.backend import get_backend

    X, y = problem(rng, n=7)
    results = []
    for columns in (True, False):
        backend = dataclasses.replace(get_backend("numpy"), samples_as_columns=columns)
        net = Network(SIZES, activation=hidden, backend=backend, dtype="float64", seed=4)
        zs, _ = net._feedforward(X)
        assert all(z.flags.f_contiguous if columns else z.flags.c_contiguous for z in zs)
        loss, grad = net.loss_and_gradient(X, y)
        results.append((float(loss), grad.copy(), net.forward(X)))
    (loss_c, grad_c, out_c), (loss_r, grad_r, out_r) = results
    assert loss_c == pytest.approx(loss_r, rel=1e-13)
    np.testing.assert_allclose(grad_c, grad_r, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out_c, out_r, rtol=1e-13)
    assert out_r.flags.c_contiguous and out_c.flags.c_contiguous


def test_a_custom_loss_without_per_sample_is_refused_when_the_network_is_built():
    from xpnet.losses import Loss

    class OldStyle(Loss):  # value and delta only
        def value(self, xp, z, a, y):
            return xp.sum((a - y) ** 2)

        def delta(self, xp, z, a, y, output):
            return a - y

    with pytest.raises(TypeError, match=r"OldStyle must define per_sample\(xp, z, a, y\)"):
        Network([4, 3], output="identity", loss=OldStyle())

    class NoDelta(Loss):
        def per_sample(self, xp, z, a, y):
            return xp.sum((a - y) ** 2, axis=1)

    with pytest.raises(TypeError, match=r"NoDelta must define delta\(xp, z, a, y, output\)"):
        Network([4, 3], output="identity", loss=NoDelta())


def test_leaky_relu_slope_is_pytorchs_by_default_and_below_one():
    from xpnet.activations import LeakyReLU, get_activation

    default = LeakyReLU()
    assert default.slope == 0.01 and default.config() == "leaky_relu"  # torch's negative_slope
    np.testing.assert_array_equal(default.forward(np, np.array([-1.0, 2.0])), [-0.01, 2.0])
    # at 1 the layer is linear; the others were compared ("'<=' not supported", "truth value
    # of an array is ambiguous") or taken (False)
    for slope in (1.0, 1.5, -0.1, math.nan, "0.1", None, False, np.array([0.1, 0.2])):
        error = ValueError if isinstance(slope, float) else TypeError  # (a value; a type)
        with pytest.raises(error, match=r"leaky_relu slope must be a number in \[0, 1\), got "):
            get_activation({"name": "leaky_relu", "slope": slope})


def test_relu_derivatives_at_zero_are_pytorchs():
    """At the kink z = 0 backprop takes PyTorch's subgradients: 0 for ReLU (a dead unit with
    zero input stays dead), the slope for leaky ReLU."""
    from xpnet.activations import get_activation

    z = np.array([-2.0, 0.0, 3.0])
    relu, leaky = get_activation("relu"), get_activation({"name": "leaky_relu", "slope": 0.2})
    np.testing.assert_array_equal(relu.derivative(np, z, relu.forward(np, z)), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(leaky.derivative(np, z, leaky.forward(np, z)), [0.2, 0.2, 1.0])


@pytest.mark.parametrize("seed", [[0, 1], np.array([3, 4]), (5, 0)])
def test_a_seed_sequence_with_zeros_or_as_an_array_is_numpys(seed):
    np.testing.assert_array_equal(
        Network([2, 3, 2], backend="numpy", seed=seed).theta,
        Network([2, 3, 2], backend="numpy", seed=np.random.default_rng(list(seed))).theta)


@pytest.mark.parametrize("backend_name", ["numpy", "strict"])
def test_predict_and_accuracy_run_in_batches_of_the_size_asked(backend_name, monkeypatch):
    """(Only the batches' memory shows it: the values are the same in one batch.)"""
    from conftest import make_backend

    backend = make_backend(backend_name)
    net = Network([5, 7, 3], backend=backend, seed=2)
    rng = np.random.default_rng(0)
    X, y = backend.asarray(rng.normal(size=(10, 5)), "float32"), rng.integers(0, 3, size=10)
    rows, infer = [], net._infer
    monkeypatch.setattr(net, "_infer", lambda X: rows.append(X.shape[0]) or infer(X))
    net.predict(X, batch_size=4)
    assert rows == [4, 4, 2]
    rows.clear()
    net.accuracy(X, y, batch_size=3)
    assert rows == [3, 3, 3, 1]


@pytest.mark.parametrize("seed", [-1, 1.5, "3", True, np.True_, np.float32(3), [1, -2], [],
                                  [[1], [2, 3]], [[1, 2]],
                                  1 + 2j, np.array(1.5)])
def test_a_bad_seed_is_named(seed):
    """NumPy said "expected non-negative integer" (or worse), without naming the seed. A
    negative number or a bad sequence is a ValueError; what is neither, a TypeError."""
    error = ValueError if isinstance(seed, list) or (type(seed) is int and seed == -1) \
        else TypeError
    with pytest.raises(error, match=r"seed must be a whole number >= 0 \(or None"):
        Network([2, 3, 2], backend="numpy", seed=seed)
    X, y = np.zeros((4, 2), np.float32), np.zeros(4, int)
    with pytest.raises(error, match="seed must be a whole number"):
        Network([2, 3, 2], backend="numpy").fit(X, y, seed=seed, progress=False)


class _OldNumpyBool:
    """What np.True_ was before NumPy 2.3: a bool scalar that operator.index accepted as 1."""
    dtype = np.dtype(bool)

    def __index__(self):
        return 1


def test_a_bool_is_not_a_seed_even_where_numpy_gives_it_an_index():
    with pytest.raises(TypeError, match="seed must be a whole number"):
        Network([2, 3, 2], backend="numpy", seed=_OldNumpyBool())


@pytest.mark.parametrize("seed", [np.random.SeedSequence(7), [1, 2], np.int64(7)])
def test_numpys_other_seeds_still_work(seed, tmp_path):
    """What numpy.random.default_rng takes, a Generator of it included, as before; a run
    saved to a checkpoint, which records its seed, needs a number (or None)."""
    np.testing.assert_array_equal(
        Network([2, 3, 2], backend="numpy", seed=seed).theta,
        Network([2, 3, 2], backend="numpy", seed=np.random.default_rng(seed)).theta)
    X, y = np.zeros((4, 2), np.float32), np.zeros(4, int)
    net = Network([2, 3, 2], backend="numpy")
    net.fit(X, y, epochs=1, seed=seed, progress=False)
    if isinstance(seed, np.integer):
        return
    with pytest.raises(TypeError, match="with checkpoint= or resume=, seed must be a whole "
                                        "number or None"):
        net.fit(X, y, epochs=1, seed=seed, progress=False, checkpoint=tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("options", [
    {"activation": "relu", "init": "xavier"},
    {"activation": {"name": "leaky_relu", "slope": 0.2}, "output": "sigmoid",
     "loss": "quadratic", "dtype": "float64"},
    {"activation": "tanh", "output": "identity", "init": "normal"},
])
def test_repr_builds_the_same_architecture_again(options):
    """repr(net) is the constructor call of its architecture, the weights' init included
    (networks of two inits printed alike)."""
    net = Network([3, 4, 2], backend="numpy", **options)
    again = eval(repr(net), {"Network": Network})
    assert again.config() == net.config() and repr(again) == repr(net)
    assert f"init={net.init!r}" in repr(net)


def test_dtype_is_numpy_s_so_a_check_against_np_float32_holds(backend, tmp_path):
    """net.dtype was the string "float32", which np.float32 never equals: a user's check
    ``net.dtype == np.float32`` was False on a float32 network, silently. As NumPy's dtype it
    equals the scalar type and the name alike, and files and repr still name it."""
    net = Network([3, 2], backend=backend)
    assert isinstance(net.dtype, np.dtype)
    assert net.dtype == np.float32 and net.dtype == "float32" and net.dtype != np.float64
    assert "dtype='float32')" in repr(net) and net.config()["dtype"] == "float32"
    double = Network([3, 2], backend="numpy", dtype="float64")
    assert double.dtype == np.float64 == double.theta.dtype
    double.save(tmp_path / "net.npz")
    assert xpnet.load(tmp_path / "net.npz").dtype == np.float64


def test_initialize_draws_a_seed_sequence_again_and_a_generator_on():
    """As the constructor's docstring says: a SeedSequence seed gives back the weights the
    network was built with; a Generator, which initialize() draws on from, new ones."""
    again = Network([3, 4, 2], backend="numpy", seed=np.random.SeedSequence(3))
    built = again.theta.copy()
    again.initialize()
    np.testing.assert_array_equal(again.theta, built)
    generator = np.random.default_rng(3)
    drawn_on = Network([3, 4, 2], backend="numpy", seed=generator)
    np.testing.assert_array_equal(drawn_on.theta, built)  # (the same numbers at first)
    drawn_on.initialize()
    assert drawn_on.seed is generator and not np.array_equal(drawn_on.theta, built)


@pytest.mark.parametrize("init", ["xavier", "he"])
def test_zero_biases_are_plus_zero(init):
    """biases * 0.0 left -0.0 for every negative draw: a student printing them saw -0."""
    net = Network([3, 50, 2], init=init, backend="numpy")
    for b in net.biases:
        assert not np.any(b) and not np.any(np.signbit(b))


@pytest.mark.parametrize("X", [[["1.5", "2", "0", "0"]] * 2, [[1, None, 0, 0]] * 2])
def test_a_list_of_non_numbers_is_refused_on_every_backend(backend, X):
    """A list was cast as NumPy reads it (strings parsed), or failed in the device namespace's
    own words ("array_api_strict does not support the dtype '<U3'")."""
    net = Network([4, 3, 2], backend=backend)
    with pytest.raises(TypeError, match="X must hold real numbers, got dtype"):
        net.loss_and_gradient(X, [0, 1])
    np.testing.assert_allclose(backend.to_numpy(net.forward([[1, 0, 0, 0.5]])).sum(), 1,
                               rtol=1e-6)  # a list of numbers is taken


def test_resume_alone_needs_a_whole_number_seed(tmp_path):
    X, y = np.zeros((4, 2), np.float32), np.zeros(4, int)
    path = tmp_path / "m.npz"
    Network([2, 3, 2], backend="numpy").fit(X, y, epochs=1, checkpoint=path, progress=False)
    with pytest.raises(TypeError, match="with checkpoint= or resume=, seed must be a whole "
                                        "number or None"):
        Network([2, 3, 2], backend="numpy").fit(X, y, epochs=2, resume=path, progress=False,
                                                seed=np.random.SeedSequence(7))


def test_boolean_features_are_taken_as_numbers():
    """_check_X refuses complex and string data, not bool (nor integers)."""
    net = Network([4, 3, 2], backend="numpy")
    X = np.array([[True, False, True, False], [False, True, True, True]])
    np.testing.assert_array_equal(net.predict(X), net.predict(X.astype(np.float32)))
    net.fit(X, np.array([0, 1]), epochs=1, progress=False)


def test_summary_names_each_layer_and_where_it_lies_in_theta():
    """Keras's model.summary(), with the flat layout: each printed slice of theta is the
    layer's own W^(l) or b^(l)."""
    net = Network([5, 4, 3], activation="tanh", backend="numpy")
    lines = []
    net.summary(print_fn=lines.append)
    assert lines[0] == ("Network 5-4-3: 39 parameters in theta, float32 on numpy; loss "
                        "softmax_cross_entropy")
    assert lines[1].split() == ["layer", "W^(l)", "b^(l)", "g", "parameters", "W^(l)", "in",
                                "theta", "b^(l)", "in", "theta"]
    for l, line in enumerate(lines[2:], start=1):
        cells = re.split(r"\s{2,}", line)
        assert cells[:5] == [str(l), str(net.weights[l - 1].shape),
                             str(net.biases[l - 1].shape), ["tanh", "softmax"][l - 1],
                             f"{net.weights[l - 1].size + net.biases[l - 1].size:,}"]
        for cell, layer in zip(cells[5:], (net.weights[l - 1], net.biases[l - 1]), strict=True):
            start, end = map(int, re.fullmatch(r"\[(\d+):(\d+)\]", cell).groups())
            assert np.shares_memory(net.theta[start:end], layer) and end - start == layer.size
            np.testing.assert_array_equal(net.theta[start:end], layer.reshape(-1))
    assert len(lines) == 4
    lines.clear()  # (an activation's settings too, as repr(net) shows them)
    Network([3, 4, 2], activation={"name": "leaky_relu", "slope": 0.2},
            backend="numpy").summary(print_fn=lines.append)
    assert " leaky_relu(slope=0.2) " in lines[2]


def test_a_deep_copy_has_its_own_theta_with_its_layers_viewing_it(backend):
    """``best = copy.deepcopy(net)`` (PyTorch's idiom for keeping the best model) failed on the
    backend's module; copying each array apart would cut weights and biases off theta."""
    import copy

    net = Network([4, 5, 3], activation={"name": "leaky_relu", "slope": 0.1}, backend=backend,
                  dtype="float64", seed=3)
    net.theta = net.theta * 0.5 + 0.25  # (not seed 3's draw: a copy that drew again differs)
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.random((6, 4)), "float64")
    before = backend.to_numpy(net.forward(X))
    best = copy.deepcopy(net)
    assert best.config() == net.config() and best.backend is net.backend and best.seed == 3
    np.testing.assert_array_equal(backend.to_numpy(best.forward(X)), before)
    best.theta = best.theta * 0.0 + 1.0  # the copy's layers follow its own theta ...
    assert float(backend.xp.sum(best.weights[1])) == 15.0 and float(best.biases[0][0]) == 1.0
    # ... and the original is untouched, whichever is trained
    np.testing.assert_array_equal(backend.to_numpy(net.forward(X)), before)
    net.fit(X, backend.asarray([0, 1, 2, 0, 1, 2]), epochs=2, batch_size=3, progress=False)
    assert float(backend.xp.sum(best.theta)) == best.num_params


class Square(xpnet.activations.Activation):
    """A user's own activation, which get_activation does not know by name."""

    name = "square"

    def forward(self, xp, z):
        return z * z

    def derivative(self, xp, z, a):
        return 2.0 * z


class TaggedNetwork(Network):
    """A user's subclass with an attribute of its own."""

    tag = None


def test_a_network_pickles_and_unpickles_with_its_weights():
    """For multiprocessing and copies; files are written by save(), which never pickles."""
    import pickle

    net = Network([4, 5, 3], backend="numpy", seed=1)
    net.theta = net.theta * 0.5 + 0.25  # (not seed 1's draw: a copy that drew again differs)
    again = pickle.loads(pickle.dumps(net))
    assert again.config() == net.config() and again.backend.name == "numpy"
    assert isinstance(again.dtype, np.dtype) and again.dtype == net.dtype
    np.testing.assert_array_equal(again.theta, net.theta)
    assert np.shares_memory(again.weights[0], again.theta)
    assert not np.shares_memory(again.theta, net.theta)
    # its own grad, which its layers' gradients view and backprop fills
    assert not np.shares_memory(again.grad, net.grad)
    assert np.shares_memory(again.weight_grads[0], again.grad)
    X, y = problem(np.random.default_rng(0), sizes=[4, 5, 3])
    expected = net.loss_and_gradient(X, y)[1].copy()
    np.testing.assert_array_equal(again.loss_and_gradient(X, y)[1], expected)


@pytest.mark.parametrize(("options", "message"), [
    ({"output": xpnet.activations.Tanh()}, "'tanh' is a hidden activation, not one xpnet takes "
                                           "for the output layer"),
    ({"output": xpnet.activations.Tanh(), "loss": "quadratic"},
     "'tanh' is a hidden activation, not one xpnet takes for the output layer"),
    ({"activation": xpnet.activations.Softmax()}, "'softmax' is an output activation, not one "
                                                  "xpnet takes for a hidden layer"),
    ({"output": Square()}, r"the output activation Square\(\) has no default loss: give loss="),
])
def test_activation_objects_meet_the_rules_of_their_names(options, message):
    """xpnet's own activations passed as objects skipped the checks their names get: a bare
    KeyError, or a network that trained and then saved a file load() called damaged."""
    with pytest.raises(ValueError, match=message):
        Network([3, 4, 2], backend="numpy", **options)


class PlainSigmoid(xpnet.activations.Sigmoid):
    """A user's subclass of one of xpnet's activations: load() would give a Sigmoid back."""


class HalfQuadratic(xpnet.losses.Quadratic):
    """A user's own loss, under a name of its own."""

    name = "half_quadratic"


@pytest.mark.parametrize(("options", "role"), [
    ({"output": Square(), "loss": "quadratic"}, r"output activation Square\(\)"),
    ({"activation": PlainSigmoid()}, r"hidden activation PlainSigmoid\(\)"),
    ({"output": "sigmoid", "loss": HalfQuadratic()}, r"loss HalfQuadratic\(\)"),
])
def test_each_part_a_file_could_not_name_is_refused(tmp_path, options, role):
    net = Network([3, 4, 2], backend="numpy", **options)  # (built and trained in code)
    with pytest.raises(ValueError, match=f"this network cannot be saved: its {role}"):
        net.save(tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_network_a_file_could_not_name_is_refused_before_anything_is_written(tmp_path):
    """A user's own activation or loss: load() would call the file damaged."""
    net = Network([3, 4, 2], activation=Square(), backend="numpy")
    with pytest.raises(ValueError, match=r"this network cannot be saved: its hidden activation "
                                         r"Square\(\) is not one of xpnet's"):
        net.save(tmp_path / "net.npz")
    before = net.theta.copy()
    with pytest.raises(ValueError, match="cannot be saved"):  # before the first epoch
        net.fit(np.zeros((4, 3), np.float32), [0, 1, 0, 1], checkpoint=tmp_path / "run.npz",
                progress=False)
    np.testing.assert_array_equal(net.theta, before)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("copy_of", ["deepcopy", "pickle"])
def test_a_copy_keeps_a_subclass_its_attributes_and_a_users_activation(copy_of):
    """Rebuilt from config(), a copy became a plain Network and refused an activation that
    get_activation does not know by name."""
    import copy
    import pickle

    net = TaggedNetwork([3, 4, 2], activation=Square(), backend="numpy", seed=2)
    net.theta = net.theta * 0.5 + 0.25  # (not seed 2's draw: a copy that drew again differs)
    net.tag = "best so far"
    twin = copy.deepcopy(net) if copy_of == "deepcopy" else pickle.loads(pickle.dumps(net))
    assert type(twin) is TaggedNetwork and twin.tag == "best so far"
    assert isinstance(twin.hidden, Square) and twin.hidden is not net.hidden
    X = np.random.default_rng(0).random((5, 3), dtype=np.float32)
    np.testing.assert_array_equal(twin.forward(X), net.forward(X))
    assert np.shares_memory(twin.biases[-1], twin.theta)


# -- what a third mutation review found untested -------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_batch_loss_keeps_the_networks_dtype(dtype):
    """The costs are summed in float64; the mean L comes back in the network's dtype."""
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], dtype=dtype, backend="numpy")
    loss, grad = net.loss_and_gradient(rng.random((7, 4)), rng.integers(0, 3, 7))
    assert loss.dtype == np.dtype(dtype) == grad.dtype


def test_network_evaluate_passes_its_batch_size_on(monkeypatch):
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], backend="numpy")
    X, y = rng.random((10, 4)), rng.integers(0, 3, 10)
    batches = []
    infer = Network._infer
    monkeypatch.setattr(Network, "_infer", lambda self, X: (batches.append(X.shape[0]),
                                                            infer(self, X))[1])
    whole = net.evaluate(X, y)
    batches.clear()
    assert net.evaluate(X, y, batch_size=4) == pytest.approx(whole)
    assert batches == [4, 4, 2]


@pytest.mark.parametrize(("batch_size", "error"), [(0, ValueError), (-1, ValueError),
                                                   (True, TypeError), (2.5, TypeError)])
def test_evaluate_refuses_a_bad_batch_size_as_predict_and_accuracy_do(batch_size, error):
    """batch_size=-1 gave a loss and an accuracy of 0.0, 0 a bare range() error; predict lost
    its check unnoticed (True then ran batches of one row silently)."""
    rng = np.random.default_rng(0)
    net = Network([4, 5, 3], backend="numpy")
    X, y = rng.random((10, 4)), rng.integers(0, 3, 10)
    for measure in (net.accuracy, net.evaluate, lambda X, y, **kw: net.predict(X, **kw)):
        with pytest.raises(error, match="batch_size must be an integer >= 1"):
            measure(X, y, batch_size=batch_size)


def test_config_and_a_saved_network_keep_the_init(tmp_path):
    """load() builds the network from config(): an init left out would come back as auto."""
    net = Network([4, 5, 3], init="xavier", backend="numpy")
    assert net.config()["init"] == "xavier"
    loaded = xpnet.load(net.save(tmp_path / "m.npz"))
    assert loaded.init == "xavier" and loaded.config() == net.config()


def test_target_rows_of_another_length_than_X_are_refused():
    """One target row would broadcast over five samples, silently."""
    rng = np.random.default_rng(0)
    X = rng.random((5, 4))
    with pytest.raises(ValueError, match="X has 5 samples but y has 1"):
        Network([4, 5, 3], backend="numpy").loss_and_gradient(X, np.array([[0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="X has 5 samples but y has 1"):
        Network([4, 5, 1], output="sigmoid", backend="numpy").loss_and_gradient(
            X, np.array([[1.0]]))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_ndarray_subclasses_are_taken_as_plain_arrays_or_refused():
    """Found by fuzzing: np.matrix, whose * is a matrix product, gave wrong gradients (a loss
    of 2.125 for 2.483), and a masked array's mask was dropped or broke a broadcast."""
    rng = np.random.default_rng(0)
    X, Y = rng.random((3, 3)), np.eye(3)
    net = Network([3, 3, 3], output="sigmoid", loss="quadratic", dtype="float64",
                  backend="numpy")
    loss, grad = net.loss_and_gradient(X, Y)
    grad = grad.copy()
    matrix_loss, matrix_grad = net.loss_and_gradient(np.matrix(X), np.matrix(Y))
    assert float(matrix_loss) == float(loss)
    np.testing.assert_array_equal(matrix_grad, grad)
    with pytest.raises(TypeError, match="masked arrays are not taken: fill or drop"):
        net.loss_and_gradient(np.ma.masked_less(X, 0.5), Y)
    with pytest.raises(TypeError, match="masked arrays are not taken"):
        net.accuracy(X, np.ma.masked_equal([0, 1, 2], 1))


@pytest.mark.parametrize("values, error, message", [
    (np.full(21, np.nan), ValueError, "theta must be finite, but holds NaN or inf in float32"),
    (np.full(21, 1e300), ValueError, r"whose numbers end at 3.4e\+38"),
    (np.full(15, "0.5"), TypeError, "theta must hold real numbers, got dtype <U3"),
    (np.zeros(15, complex), TypeError, "theta must hold real numbers, got dtype complex128"),
    ({"a": 1}, TypeError, "theta must hold real numbers, got dtype object"),
])
@pytest.mark.filterwarnings("error")  # (no NumPy cast warning before xpnet's message)
def test_set_theta_takes_only_finite_real_numbers(values, error, message):
    """(NaN, strings, complex numbers and 1e300 were taken: predict then gave class 0 for
    every row, and fit blamed the learning rate.)"""
    net = Network([2, 3, 3], backend="numpy")
    before = net.theta.copy()
    with pytest.raises(error, match=message):
        net.set_theta(values)
    with pytest.raises(error, match=message):
        net.theta = values
    np.testing.assert_array_equal(net.theta, before)


@pytest.mark.parametrize("y, error, message", [
    (np.eye(2)[[0, 1, 1]].astype(str), TypeError, "y must hold real numbers, got dtype <U"),
    (np.eye(2)[[0, 1, 1]].astype(complex), TypeError, "y must hold real numbers, got dtype "
                                                      "complex128"),
    (np.array(["0", "1", "1"]), TypeError, "y must hold real numbers"),
    (np.array([[0, 1], [1]], dtype=object), TypeError, "y must hold real numbers, got dtype "
                                                       "object"),
])
@pytest.mark.filterwarnings("error")  # (complex targets used to give only a ComplexWarning)
def test_targets_must_be_real_numbers_as_X_must(y, error, message):
    net = Network([2, 3, 2], backend="numpy")
    X = np.zeros((3, 2))
    for call in (lambda: net.fit(X, y, epochs=1, progress=False),
                 lambda: net.accuracy(X, y), lambda: net.evaluate(X, y)):
        with pytest.raises(error, match=message):
            call()


def test_accuracy_checks_target_rows_as_evaluate_does():
    """(A row of NaN counted as class 0: accuracy 1.0 for rows that were all NaN.)"""
    net = Network([2, 3, 2], backend="numpy")
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        net.accuracy(X, np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match=r"needs targets in \[0, 1\]"):
        net.accuracy(X, -np.eye(2)[[0, 1, 0, 1]])


def test_a_ragged_list_is_named():
    net = Network([2, 3, 2], backend="numpy")
    with pytest.raises(ValueError, match="X must be a rectangular array of numbers: its rows "
                                         "have different lengths"):
        net.predict([[0.0, 1.0], [2.0]])


@pytest.mark.parametrize("sizes", [{3, 10}, {3: 1, 10: 1}, "3,10"])
def test_sizes_without_an_order_are_refused(sizes):
    """(A set gave [10, 3], a dict its keys.)"""
    with pytest.raises(TypeError, match="sizes must be a list of layer widths"):
        Network(sizes, backend="numpy")


@pytest.mark.parametrize("sizes, error", [([3, 10**9, 10**9], MemoryError),  # (> any address space)
                                          ([10**20, 2], ValueError)])
def test_a_network_too_large_to_hold_names_its_sizes(sizes, error):
    """(NumPy's "Unable to allocate 3.6 TiB" and "Maximum allowed dimension exceeded" named
    no argument.)"""
    with pytest.raises(error, match=r"sizes \[.*\] need [\d,]+ weights and biases, and as many "
                                    r"gradients: more than this machine can hold"):
        Network(sizes, backend="numpy")


@pytest.mark.parametrize("num_classes", [1, 0, 1.5, np.float64(2), None, "3", True, 10**30])
def test_one_hot_checks_its_number_of_classes(num_classes):
    """(1 gave [[1.]] for label 0, which a one-output network reads as class 1; the others
    ended in bare Python errors or an OverflowError.) Not an integer: TypeError."""
    error = ValueError if isinstance(num_classes, int) and num_classes is not True else TypeError
    with pytest.raises(error, match="num_classes must be a whole number from 2 to 2"):
        xpnet.one_hot([0], num_classes)


@pytest.mark.parametrize("labels, error", [([3], ValueError), ([-1], ValueError),
                                           ([1.5], TypeError), (["1"], TypeError)])
def test_the_networks_one_hot_checks_its_labels(labels, error):
    """net.one_hot([3]) of a 3-class network gave a row of zeros, and [-1] and [1.5] did too:
    targets of no class, trained on without a word; xpnet.one_hot refused them."""
    net = Network([2, 3], backend="numpy")
    with pytest.raises(error, match="labels must lie in 0..2|class indices must be|real numbers"):
        net.one_hot(labels)
    np.testing.assert_array_equal(net.one_hot([2, 0]), [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("labels", [[[0, 1]], 1, [[0], [2]]])
@pytest.mark.parametrize("encode", [lambda y: xpnet.one_hot(y, 3),
                                    lambda y: Network([2, 3], backend="numpy").one_hot(y)])
def test_one_hot_of_integers_of_the_wrong_shape_asks_for_a_vector(labels, encode):
    """Integers that are not a vector were told to use y.astype(int), which they are, "or
    pass one-hot rows", which one_hot makes."""
    with pytest.raises(TypeError, match=r"got dtype int64 of shape \(.*\); give the class "
                                        r"indices as a vector of shape \(n,\)$"):
        encode(np.array(labels, dtype=np.int64))


def test_damaged_parts_of_the_api_name_what_is_wrong():
    """Found by fuzzing: AttributeError, "unhashable type: 'list'" and NumPy's "only
    0-dimensional arrays can be converted" named nothing."""
    net = Network([3, 4, 2], backend="numpy")
    np.testing.assert_array_equal(net.classes([[0.1, 0.9], [0.8, 0.2]]), [1, 0])
    with pytest.raises(TypeError, match="A must hold real numbers, got dtype object"):
        net.classes(None)
    with pytest.raises(TypeError, match=r"layer sizes must be integers, got array\(\[3\]\)"):
        Network([np.array([3]), 4, 2])
    for activation in ([], {"name": ["x"]}):
        with pytest.raises(TypeError, match="unknown hidden activation"):
            Network([3, 4, 2], activation=activation)


class DuckTypedActivation:  # the methods of an Activation, without subclassing it
    def forward(self, xp, z):
        return z

    def derivative(self, xp, z, a):
        return xp.ones_like(z)


class DuckTypedLoss:  # the methods of a Loss, without subclassing it
    def per_sample(self, xp, z, a, y):
        return xp.sum((a - y) ** 2, axis=1) / 2

    def delta(self, xp, z, a, y, output):
        return a - y


@pytest.mark.parametrize(("argument", "own"), [
    ("activation", r"xpnet\.activations\.Activation that defines forward\(xp, z\) and "
                   r"derivative\(xp, z, a\)"),
    ("output", r"xpnet\.activations\.Activation that defines forward"),
    ("loss", r"xpnet\.losses\.Loss that defines per_sample\(xp, z, a, y\) and delta"),
])
def test_a_function_or_a_duck_typed_part_is_told_to_subclass(argument, own):
    """A torch user's function (torch.relu, a lambda) or a class with the right methods but
    not the base class was 'unknown hidden activation <function <lambda> ...>; choose one of
    [...]', which did not say that xpnet takes parts of one's own, nor how."""
    duck = DuckTypedLoss() if argument == "loss" else DuckTypedActivation()
    for given in (duck, lambda z: z):
        with pytest.raises(TypeError, match=rf"^unknown .*{re.escape(repr(given))}.*\], or "
                                            rf"give an? \w+ of your own: an instance of a "
                                            rf"subclass of {own}"):
            Network([2, 3, 2], backend="numpy", **{argument: given})
    with pytest.raises(ValueError, match=r"'swish'[;:] choose one of \[[^]]*\]$"):  # (a name)
        Network([2, 3, 2], backend="numpy", **{argument: "swish"})


@pytest.mark.parametrize(("make", "none_is_default"), [
    (lambda name: Network([2, 2], backend="numpy", activation=name), False),
    (lambda name: Network([2, 2], backend="numpy", output=name), False),
    (lambda name: Network([2, 2], backend="numpy", loss=name), True),
    (lambda name: Network([2, 2], backend="numpy", init=name), False),
    (lambda name: Network([2, 2], backend=name), True),
    (lambda name: xpnet.optim.get_optimizer(name), False),
    (lambda name: xpnet.schedules.get_schedule(name, lr=0.1), False),
    (lambda name: xpnet.schedules.ReduceLROnPlateau(0.1, mode=name), False),
    (lambda name: xpnet.schedules.ReduceLROnPlateau(0.1, threshold_mode=name), False),
    (lambda name: xpnet.EarlyStopping(monitor=name), False),
    (lambda name: xpnet.datasets.load(name, download=False), False),
])
def test_a_name_of_the_wrong_type_is_a_type_error(make, none_is_default):
    """An unknown name is a ValueError; what is no name at all (3, None, a list, an array) a
    TypeError, as for every other setting of the wrong type (loss=[1] and init=np.array(["he"])
    ended in a bare "unhashable type")."""
    import xpnet.datasets  # noqa: F401  (not imported by xpnet itself)

    with pytest.raises(ValueError, match="'nope'"):
        make("nope")
    for name in (3, ["x"], np.array(["he"])) + (() if none_is_default else (None,)):
        with pytest.raises(TypeError, match=re.escape(repr(name))):
            make(name)


def test_the_training_loop_calls_no_checked_classes():
    """classes() checks its input (a list, None): the training loop and inference call the
    unchecked _classes, so no batch pays for the checks."""
    net = Network([3, 4, 2], backend="numpy")
    calls = []
    net.classes = lambda A: calls.append(A)  # (an instance attribute: only direct calls)
    X, y = np.zeros((8, 3)), np.array([0, 1] * 4)
    net.fit(X, y, epochs=1, batch_size=4, progress=False, validation_split=0.25)
    net.predict(X), net.accuracy(X, y), net.evaluate(X, y)
    assert calls == []


# -- what a fourth mutation review found untested --------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_is_exact_for_logits_far_apart(backend, dtype):
    """The row's max is subtracted before exp: a spread of logits beyond exp's range (z_j from
    -x to x) gives the exact softmax, not inf / inf = NaN. (Subtracting any other number of
    the row, such as its min, is the same softmax on paper and overflows here.)"""
    import warnings

    net = Network([1, 3], output="softmax", backend=backend, dtype=dtype)
    net.set_theta([1.0, 0.0, -1.0, 0.0, 0.0, 0.0])  # z = (x, 0, -x)
    x = np.array([0.5, 30.0, 100.0, 1000.0])
    z = np.stack([x, np.zeros_like(x), -x], axis=1)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    exact = e / e.sum(axis=1, keepdims=True)
    with warnings.catch_warnings():
        # (NumPy's overflow warning in exp would raise)
        warnings.filterwarnings("error", category=RuntimeWarning)
        a = backend.to_numpy(net.forward(backend.asarray(x[:, None], dtype)))
    # (CUDA's exp is within 2 ulp; below the smallest normal number, e^-100 in float32, the
    # rounding is the dtype's)
    np.testing.assert_allclose(a, exact, rtol=16 * np.finfo(dtype).eps, atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_cross_entropy_is_exact_for_logits_far_apart(backend, dtype):
    """The cross-entropy's logsumexp subtracts the row's max too: for z = (x, 0, -x) the cost
    of label j is exactly logsumexp(z) - z_j, about x - z_j, not inf. (With the row's min,
    the same on paper, e^{2x} overflows: test_saturated_outputs_give_finite_loss_and_gradient
    gives every output the same logit, where max and min are one number.)"""
    import warnings

    x = np.array([0.5, 30.0, 100.0, 1000.0])
    z = np.stack([x, np.zeros_like(x), -x], axis=1)
    loss, xp = LOSSES["softmax_cross_entropy"](), backend.xp
    e = np.exp(z - z.max(axis=1, keepdims=True))
    z_dev = backend.asarray(z, dtype)
    a_dev = backend.asarray(e / e.sum(axis=1, keepdims=True), dtype)
    for label in range(3):
        y = np.zeros_like(z)
        y[:, label] = 1.0
        exact = np.array([x_i + math.log1p(math.exp(-x_i) + math.exp(-2 * x_i)) for x_i in x])
        exact -= z[:, label]
        with warnings.catch_warnings():
            warnings.filterwarnings("error", category=RuntimeWarning)  # (exp's overflow)
            costs = backend.to_numpy(loss.per_sample(xp, z_dev, a_dev, backend.asarray(y, dtype)))
        np.testing.assert_allclose(costs, exact, rtol=16 * np.finfo(dtype).eps,
                                   atol=16 * np.finfo(dtype).eps)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_gives_one_cost_per_row_by_its_formula(backend, name):
    """per_sample is C_i of each ROW (fit sums its costs batch by batch: costs of another
    shape crashed fit for a one-output sigmoid network, while the mean L, the sum of all the
    costs over B, stayed right); value is their mean. The lecture's formulas, from a_L."""
    rng = np.random.default_rng(7)
    z = rng.normal(size=(5, 3)) * 3  # five rows of three outputs: no shape of one fits both
    if name == "softmax_cross_entropy":
        a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        y = rng.dirichlet(np.ones(3), size=5)
        expected = -np.sum(y * np.log(a), axis=1)
    elif name == "binary_cross_entropy":
        a = 1 / (1 + np.exp(-z))
        y = rng.random((5, 3))
        expected = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=1)
    else:
        a, y = np.tanh(z), rng.normal(size=(5, 3))
        expected = 0.5 * np.sum((a - y) ** 2, axis=1)
    loss, xp = LOSSES[name](), backend.xp
    z_dev, a_dev, y_dev = (backend.asarray(v, "float64") for v in (z, a, y))
    costs = backend.to_numpy(loss.per_sample(xp, z_dev, a_dev, y_dev))
    assert costs.shape == (5,)
    np.testing.assert_allclose(costs, expected, rtol=1e-12)
    value = float(backend.to_numpy(loss.value(xp, z_dev, a_dev, y_dev)))
    np.testing.assert_allclose(value, expected.mean(), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_cross_entropy_keeps_the_small_cost_of_a_confident_right_answer(backend, dtype):
    """softplus's ln(1 + e^{-|z|}) is log1p: written ln(1 + e^{-|z|}) the 1 swallows e^{-|z|},
    and a right answer's cost e^{-|z|} rounds to exactly 0 from |z| ~ 17 in float32 (37 in
    float64) while the gradient a_L - y still says it is not; log1p keeps it to the dtype's
    precision. For a 1 label too: softplus(z) - z, computed as written, was z + e^{-z} - z = 0."""
    z = np.array([[-20.0], [-40.0], [-60.0], [20.0], [40.0], [60.0]])  # ever more confident
    y = (z > 0).astype(float)  # each answered rightly
    expected = np.array([math.log1p(math.exp(-abs(v))) for v in z[:, 0]])  # = e^{-|z|}
    z_dev, y_dev = (backend.asarray(v, dtype) for v in (z, y))
    a_dev = 1.0 / (1.0 + backend.xp.exp(-z_dev))
    costs = backend.to_numpy(LOSSES["binary_cross_entropy"]().per_sample(
        backend.xp, z_dev, a_dev, y_dev))
    np.testing.assert_allclose(costs, expected, rtol=8 * np.finfo(dtype).eps, atol=0)


def test_a_users_output_activation_gets_the_gradient_of_its_loss(rng):
    """An output activation of the user's own (Square, whose derivative needs z) with the
    quadratic loss: backprop's gradient is the loss's, and no pass runs the output layer's
    g' on the input layer (which has other widths)."""
    net = Network([4, 5, 2], activation="tanh", output=Square(), loss="quadratic",
                  init="normal", backend="numpy", dtype="float64", seed=3)
    X, Y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    analytic = net.loss_and_gradient(X, Y)[1].copy()
    assert relative_error(analytic, numeric_gradient(net, X, Y)) < 1e-6


# -- what a mutation review of activations.py found untested ---------------------------------
def test_a_leaky_relu_slope_of_0_is_taken_and_is_relu():
    """The slope lies in [0, 1): 0 itself is allowed (a check written 0 < slope refused it),
    and the layer is then a ReLU: max(z, 0), derivative [z > 0]."""
    from xpnet.activations import get_activation

    z = np.array([-2.0, -0.5, 0.0, 1.5])
    for slope in (0.0, 0):
        leaky = get_activation({"name": "leaky_relu", "slope": slope})
        a = leaky.forward(np, z)
        np.testing.assert_array_equal(a, np.maximum(z, 0.0))
        np.testing.assert_array_equal(leaky.derivative(np, z, a), (z > 0).astype(z.dtype))
        assert leaky.config() == {"name": "leaky_relu", "slope": 0.0}


def test_activations_describe_themselves():
    """repr() names the class and, for leaky ReLU, its slope (a __repr__ that returned
    nothing made repr() raise TypeError in any message that shows the activation)."""
    from xpnet.activations import LeakyReLU, get_activation

    assert repr(LeakyReLU(slope=0.25)) == f"LeakyReLU(slope={0.25})"
    assert repr(get_activation("tanh")) == "Tanh()"


def test_identity_derivative_is_one_and_softmax_has_none():
    """g(z) = z has g'(z) = 1 (backward skips it, but derivative() is the public g'); softmax
    couples its units, so derivative() refuses instead of returning something to multiply."""
    from xpnet.activations import get_activation

    z = np.array([[-1.5, 0.0, 2.0]])
    identity = get_activation("identity", output=True)
    np.testing.assert_array_equal(identity.derivative(np, z, identity.forward(np, z)),
                                  np.ones_like(z))
    softmax = get_activation("softmax", output=True)
    with pytest.raises(TypeError, match=r"softmax has a Jacobian.*use backward\(\)"):
        softmax.derivative(np, z, softmax.forward(np, z))


def test_an_activation_marked_fusable_uses_only_elementwise_operations():
    """cupy.fuse traces elementwise expressions only: no astype (ReLU's 0/1 mask) and no row
    reductions (softmax). An activation marked fusable that needed one would fail on a GPU
    only, where CI does not run; here its forward and backward run on a namespace that
    refuses them (a ReLU or leaky ReLU that lost its fusable = False was fused)."""
    from xpnet.activations import HIDDEN, OUTPUT

    class Elementwise:  # NumPy without what cupy.fuse cannot trace
        def __getattr__(self, name):
            if name in ("astype", "sum", "max", "min", "where"):
                raise AssertionError(f"xp.{name} in a fused kernel")
            return getattr(np, name)

    z = np.array([[-2.0, -0.5, 0.0, 1.5]])
    for activation in {*HIDDEN.values(), *OUTPUT.values()}:
        g = activation()
        if g.fusable:
            a = g.forward(Elementwise(), z)
            g.backward(Elementwise(), z, a, np.ones_like(z))


def test_a_users_loss_and_activation_need_no_name_of_their_own():
    """Loss and Activation give their subclasses an empty name: a user's classes that set
    none build, describe and backprop through a network (without the base's name="" the network's
    repr, config and loss check raised AttributeError)."""
    from xpnet.activations import Activation
    from xpnet.losses import Loss

    class Cube(Activation):
        def forward(self, xp, z):
            return z * z * z

        def derivative(self, xp, z, a):
            return 3.0 * z * z

    class Quartic(Loss):  # C_i = sum_j (a_j - y_j)^4 / 4
        def per_sample(self, xp, z, a, y):
            return xp.sum((a - y) ** 4, axis=1) / 4.0

        def delta(self, xp, z, a, y, output):
            return output.backward(xp, z, a, (a - y) ** 3)

    net = Network([3, 2], output=Cube(), loss=Quartic(), backend="numpy", dtype="float64",
                  seed=0)
    assert net.config()["output"] == "" and net.config()["loss"] == ""
    assert "output=Cube(), loss=Quartic()" in repr(net)  # (no name: the object itself)
    X, y = np.random.default_rng(0).normal(size=(5, 3)), np.eye(2)[[0, 1, 0, 1, 1]]
    _, grad = net.loss_and_gradient(X, y)
    assert relative_error(grad.copy(), numeric_gradient(net, X, y)) < 1e-6


def test_a_loss_whose_delta_is_a_view_of_the_output_keeps_the_output(backend):
    """backprop scaled delta_L by 1/B in place: a user's delta that returns a_L itself (C_i =
    1/2 ||a_i||^2 under an identity output) scaled a_L too, so loss_and_gradient and fit's
    figures reported L / B while the gradient was right."""
    from xpnet.losses import Loss

    class HalfSquaredNorm(Loss):  # C_i = 1/2 ||a_i||^2, y unused
        def per_sample(self, xp, z, a, y):
            return xp.sum(a * a, axis=1) / 2.0

        def delta(self, xp, z, a, y, output):
            return output.backward(xp, z, a, a)  # (identity: a itself)

    net = Network([3, 4, 2], output="identity", loss=HalfSquaredNorm(), backend=backend,
                  dtype="float64", seed=0)
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.zeros((8, 2))
    expected = 0.5 * np.mean(np.sum(net.backend.to_numpy(net(X)) ** 2, axis=1))
    loss, grad = net.loss_and_gradient(X, y)
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    assert relative_error(net.backend.to_numpy(grad), numeric_gradient(net, X, y)) < 1e-6
    history = net.fit(X, y, optimizer=xpnet.optim.SGD(lr=0.0), epochs=1, batch_size=8,
                      progress=False)
    assert history["loss"][0] == pytest.approx(expected, rel=1e-12)


class NoXp(xpnet.activations.Activation):
    def forward(self, z):  # the array module forgotten
        return z

    def derivative(self, xp, z, a):
        return 1.0 + 0.0 * z


class ExtraArgument(xpnet.activations.Activation):
    def forward(self, xp, z, slope):  # an argument that fit never passes
        return slope * z

    def derivative(self, xp, z, a):
        return 1.0 + 0.0 * z


class NoDerivative(xpnet.activations.Activation):
    def forward(self, xp, z):
        return z


class NoForward(xpnet.activations.Activation):
    def derivative(self, xp, z, a):
        return 1.0 + 0.0 * z


class TwoArgumentDelta(xpnet.losses.Quadratic):
    def delta(self, a, y):
        return a - y


@pytest.mark.parametrize(("options", "message"), [
    ({"activation": NoDerivative},
     r"NoDerivative is a class: pass an instance of it, NoDerivative\(\)"),
    ({"activation": NoDerivative()},
     r"NoDerivative must define derivative\(self, xp, z, a\), g'\(z\) \(or backward"),
    ({"output": NoForward()}, r"NoForward must define forward\(self, xp, z\), a = g\(z\)$"),
    ({"activation": NoXp()}, r"NoXp.forward must take \(xp, z\), the array module xp first: "
                             r"def forward\(self, xp, z\)"),
    ({"activation": ExtraArgument()}, r"ExtraArgument.forward must take \(xp, z\)"),
    ({"output": "sigmoid", "loss": TwoArgumentDelta()},
     r"TwoArgumentDelta.delta must take \(xp, z, a, y, output\)"),
])
def test_a_users_class_missing_a_method_or_an_argument_is_refused_when_built(options, message):
    """Caught when the network is built, with what to write, not as a bare
    NotImplementedError or a wrong argument count once training calls it."""
    with pytest.raises(TypeError, match=message):
        Network([3, 4, 2], backend="numpy", **options)


@pytest.mark.parametrize(("X", "y", "message"), [
    (np.zeros((6, 2, 2)), [0] * 6,
     r"got shape \(6, 2, 2\); for samples of shape \(2, 2\) use X.reshape\(len\(X\), -1\)"),
    (np.zeros(4), [0], r"got shape \(4,\); for one sample use X.reshape\(1, -1\)"),
    (np.zeros((4, 1)), [0], r"X has 1 feature per sample but the input layer has 4 neurons; "
                            r"expected shape \(samples, 4\); samples are rows: for samples "
                            r"given as columns, pass X.T"),
    (np.zeros((5, 4)), np.eye(3)[[0, 1, 2, 0, 1]].T,
     r"X has 5 samples but y has 3; they must match; y holds a column per sample: pass y.T"),
])
def test_samples_as_columns_or_images_get_a_hint_of_the_reshape(X, y, message):
    """The lecture writes x and y as columns, and images come as (N, 28, 28): each shape
    error says which reshape gives rows of samples."""
    net = Network([4, 5, 3], backend="numpy")
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=1, progress=False)


def test_accuracy_refuses_one_hot_rows_of_another_length_than_X():
    """One one-hot row would broadcast over every sample in accuracy's comparison: an
    accuracy against a single label, silently."""
    rng = np.random.default_rng(0)
    X = rng.random((5, 4))
    net = Network([4, 5, 3], backend="numpy")
    one_row = one_hot([1], 3)
    with pytest.raises(ValueError, match=f"X has {len(X)} samples but y has {len(one_row)}"):
        net.accuracy(X, one_row)


def test_a_network_built_without_a_seed_draws_the_documented_seed_0():
    """The README promises seed=0 as Network's default; another default would still be
    reproducible, so only a comparison with seed=0 itself catches it."""
    for init in ("normal", "scaled", "xavier", "he"):
        default = Network([4, 5, 3], init=init, backend="numpy")
        np.testing.assert_array_equal(
            default.theta, Network([4, 5, 3], init=init, backend="numpy", seed=0).theta)
        assert default.seed == 0


def test_a_label_out_of_range_names_one_label_per_output_neuron():
    """With several output neurons the message must say labels are one per output neuron, not
    the single-neuron rule (class 1 where a_L > 0.5), and what more classes need."""
    net = Network([4, 5, 3], backend="numpy")
    X = np.zeros((2, 4))
    k = net.sizes[-1]
    with pytest.raises(ValueError, match=rf"^labels must lie in 0\.\.{k - 1} \(one per output "
                                         rf"neuron\), got values from 0 to {k}: {k + 1} classes "
                                         rf"need an output layer of {k + 1} neurons$"):
        net.loss_and_gradient(X, np.array([0, k]))


@pytest.mark.parametrize(("sizes", "labels", "message"), [
    # (labels numbered from 1: y - 1, not a larger output layer)
    ([4, 5, 3], [1, 3], r"^labels must lie in 0\.\.2 \(one per output neuron\), got values from "
                        r"1 to 3: class indices count from 0, so labels 1\.\.3 are y - 1$"),
    # (digits 0-9 for a network of one sigmoid neuron: ten classes need ten)
    ([4, 5, 1], [0, 9], r"^labels must lie in 0\.\.1 \(one output neuron: class 1 where a_L > "
                        r"0\.5\), got values from 0 to 9: 10 classes need an output layer of 10 "
                        r"neurons$"),
    # (a negative label: no guess)
    ([4, 5, 3], [-1, 2], r"got values from -1 to 2$"),
])
def test_labels_out_of_range_say_what_the_labels_or_the_network_need(sizes, labels, message):
    net = Network(sizes, output="sigmoid" if sizes[-1] == 1 else "softmax", backend="numpy")
    for call in (lambda y: net.loss_and_gradient(np.zeros((2, 4)), y), net.one_hot):
        with pytest.raises(ValueError, match=message):
            call(np.array(labels))


def test_one_hot_of_labels_beyond_num_classes_says_which_num_classes_they_need():
    with pytest.raises(ValueError, match=r"^labels must lie in 0\.\.2 \(num_classes=3\), got "
                                         r"values from 0 to 4: 5 classes need num_classes=5$"):
        one_hot([0, 4], 3)


def test_x_of_another_width_says_that_sizes_begins_with_the_input_layer():
    """Network([30, 10]) for 784 pixels (the input layer left out, as in a Keras model's list of
    Dense layers): the message says what the network for this X is."""
    with pytest.raises(ValueError, match=r"^X has 784 features per sample but the input layer "
                                         r"has 30 neurons; expected shape \(samples, 30\); sizes "
                                         r"begins with the input layer, one neuron per feature: "
                                         r"a network for this X is Network\(\[784, \.\.\.\]\)$"):
        Network([30, 10], backend="numpy").predict(np.zeros((5, 784)))


@pytest.mark.parametrize(("keywords", "hint"), [
    ({"lr": 0.1}, r"the learning rate \(the lecture's eta\), the optimizer, the epochs and the "
                  r"batch size are fit's: net\.fit\(X, y, optimizer=xpnet\.optim\.SGD\(lr=0\.1\)"),
    ({"eta": 3.0}, "the learning rate \\(the lecture's eta\\)"),
    ({"epochs": 10}, "the learning rate \\(the lecture's eta\\), the optimizer, the epochs"),
    ({"layers": [4, 3]}, r"the widths of the layers are sizes, every layer's from the input to "
                         r"the output: Network\(\[784, 30, 10\]\)"),
    ({"hidden_activation": "relu"}, "the hidden layers' g is activation=, the output layer's "
                                    "output="),
    ({"kernel_initializer": "he"}, r"the draw of the initial weights is init=, one of \['auto'"),
    ({"random_state": 0}, "random_state is called seed here"),
    ({"activaton": "relu"}, "did you mean activation?"),
])
def test_a_keyword_a_network_does_not_take_is_named_with_those_it_takes(keywords, hint):
    """Python's own "unexpected keyword argument 'lr'" named none of the right ones."""
    arguments = {"sizes": [4, 3]} if "layers" not in keywords else {}
    taken = ", ".join(inspect.signature(Network).parameters)  # (sizes, activation, ...)
    with pytest.raises(TypeError, match=rf"^Network takes no '{next(iter(keywords))}': it takes "
                                        rf"{taken}; {hint}"):
        Network(**arguments, **keywords, backend="numpy")


def test_a_layer_can_be_assigned_by_a_negative_index():
    """net.weights[-1] reads the output layer, as a list's [-1] does: assigning it must copy
    into that layer too, not be refused as a layer that does not exist."""
    net = Network([3, 4, 2], backend="numpy")
    net.weights[-1] = np.ones((2, 4))
    net.biases[-2] = np.full(4, 0.5)
    np.testing.assert_array_equal(net.weights[1], np.ones((2, 4)))
    np.testing.assert_array_equal(net.biases[0], np.full(4, 0.5))
    with pytest.raises(IndexError, match=r"weights\[-3\] does not exist"):
        net.weights[-3] = np.ones((4, 3))


@pytest.mark.parametrize("labels, advice", [
    ([0.0, 2.0, 1.0], r"use y\.astype\(int\)"),  # whole numbers: the cast keeps them
    ([0.0, 2.5, 1.0], r"values that are no class index \(such as 2\.5 or NaN\), which "
                      r"y\.astype\(int\) would change"),
    ([0.0, math.nan, 1.0], "values that are no class index"),
])
def test_float_labels_are_told_to_be_cast_only_when_the_cast_keeps_them(backend, labels,
                                                                       advice):
    """y.astype(int) would make 2.5 the class 2 (and NaN some class): the message that refuses
    float class indices suggests the cast only for whole numbers."""
    net = Network([2, 3, 3], backend=backend)
    X = backend.asarray(np.zeros((3, 2)), "float32")
    y = backend.asarray(np.array(labels))
    with pytest.raises(TypeError, match="class indices must be a 1-D array of integers.*" + advice):
        net.accuracy(X, y)


def test_initialize_redraws_the_networks_own_seed_by_default():
    """``Network(sizes, seed=5).initialize()`` used to redraw seed 0's weights, while
    net.seed still said 5."""
    net = Network([4, 5, 3], backend="numpy", seed=5)
    built = net.theta.copy()
    net.theta[:] = 0.0
    net.initialize()
    np.testing.assert_array_equal(net.theta, built)
    assert net.seed == 5
    net.initialize(7)  # another seed becomes the network's
    np.testing.assert_array_equal(net.theta, Network([4, 5, 3], backend="numpy", seed=7).theta)
    assert net.seed == 7
    net.initialize()
    np.testing.assert_array_equal(net.theta, Network([4, 5, 3], backend="numpy", seed=7).theta)
    shuffling = net._shuffling = (7, np.random.default_rng(7))  # (as a fit leaves it)
    with pytest.raises(TypeError, match="seed must be a whole number"):
        net.initialize("5")
    assert net.seed == 7  # (a refused seed changes nothing: fit's shuffling stream neither)
    assert net._shuffling is shuffling
    fresh = Network([4, 5, 3], backend="numpy", seed=None)
    drawn = fresh.theta.copy()
    fresh.initialize()  # its own seed None: a fresh draw
    assert fresh.seed is None and not np.array_equal(fresh.theta, drawn)


def test_calling_the_network_is_its_forward_pass():
    """``net(X)``, as a torch.nn.Module or a Keras model is called, used to be a TypeError
    ("'Network' object is not callable")."""
    net = Network([4, 5, 3], backend="numpy", seed=1)
    X = np.random.default_rng(0).standard_normal((7, 4))
    np.testing.assert_array_equal(net(X), net.forward(X))
    np.testing.assert_array_equal(net(X, batch_size=2), net.forward(X, batch_size=2))
    with pytest.raises(ValueError, match="X has 3 features per sample"):
        net(X[:, :3])


@pytest.mark.parametrize("attribute, hint", [
    ("parameters", r"net.theta holds every weight and bias in one flat vector"),
    ("state_dict", r"net.save\(path\) writes the network, xpnet.load\(path\) reads it back"),
    ("load_state_dict", r"xpnet.load\(path\) reads a network .* net.set_theta\(values\)"),
    ("train", r"no training or evaluation mode .* net.fit\(X, y, ...\) trains it"),
    ("eval", r"net\(X\) computes its outputs"),
    ("compile", r"nothing to compile: the loss is the network's, Network\(sizes, loss=...\)"),
    ("layers", r"net.weights\[l-1\] and net.biases\[l-1\] are layer l's W\^\(l\) and b\^\(l\)"),
    ("predict_proba", r"net\(X\) \(or net.forward\(X\)\) gives the outputs a_L")])
def test_pytorch_and_keras_attributes_say_what_to_use_instead(attribute, hint):
    """net.parameters(), net.eval(), model.compile(...): bare AttributeErrors, which left a
    PyTorch or Keras user to search; any other missing attribute stays Python's own."""
    net = Network([2, 3, 2])
    assert_hinted(net, attribute, hint, misspelt="sizs")
    assert copy.deepcopy(net).sizes == [2, 3, 2]


@pytest.mark.parametrize(("sizes", "X", "y", "options", "message"), [
    ([2, 3, 2], np.zeros((3, 2)), np.zeros((3, 1)), {}, "y has 1 column; expected 2"),
    ([2, 3, 2], np.zeros((1, 2)), [0, 1], {}, "X has 1 sample but y has 2"),
    ([1, 3, 2], np.zeros((3, 2)), [0, 1, 0], {}, "X has 2 features per sample but the input "
                                                 "layer has 1 neuron;"),
    ([2, 3, 2], np.zeros((1, 2), np.float32), [0], {"validation_split": 0.5},
     "validation_split=0.5 of 1 sample leaves no training"),
])
def test_a_count_of_one_is_told_in_the_singular(sizes, X, y, options, message):
    """'y has 1 columns', 'X has 1 samples': the errors counted in the plural whatever the
    count."""
    with pytest.raises(ValueError, match=re.escape(message)):
        Network(sizes).fit(X, y, epochs=1, progress=False, **options)
