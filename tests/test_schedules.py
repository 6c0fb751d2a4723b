"""Learning-rate schedules: values against their formulas (and torch.optim.lr_scheduler),
scikit-learn's adaptive rule, state dicts and bad values."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from training_helpers import blobs, small_net

from xpnet.schedules import (
    Adaptive,
    Constant,
    CosineAnnealing,
    Exponential,
    InverseScaling,
    ReduceLROnPlateau,
    Schedule,
    StepDecay,
    get_schedule,
)

EPOCHS = range(40)


@pytest.mark.parametrize(("schedule", "formula"), [
    (Constant(0.1), lambda k: 0.1),
    (StepDecay(0.1, step_size=7), lambda k: 0.1 * 0.1 ** (k // 7)),
    (StepDecay(0.5, step_size=3, gamma=0.5), lambda k: 0.5 * 0.5 ** (k // 3)),
    (Exponential(0.1, gamma=0.9), lambda k: 0.1 * 0.9**k),
    (CosineAnnealing(0.1, t_max=30),
     lambda k: 0.05 * (1 + math.cos(math.pi * min(k, 30) / 30))),
    (CosineAnnealing(0.1, t_max=30, min_lr=0.01, warmup=5),
     lambda k: 0.1 * (k + 1) / 6 if k < 5
     else 0.01 + 0.045 * (1 + math.cos(math.pi * min(k - 5, 25) / 25))),
    (InverseScaling(0.1), lambda k: 0.1 / math.sqrt(k + 1)),
    (InverseScaling(0.1, power_t=0.25), lambda k: 0.1 / (k + 1) ** 0.25),
], ids=lambda x: repr(x) if not callable(x) else "")
def test_values_follow_the_formula(schedule, formula):
    got = [schedule.lr_at(k) for k in EPOCHS]
    assert all(type(lr) is float for lr in got)
    np.testing.assert_allclose(got, [formula(k) for k in EPOCHS], rtol=1e-14, atol=1e-16)


def test_cosine_warmup_rises_to_lr_then_falls_to_min_lr():
    schedule = CosineAnnealing(1.0, t_max=10, min_lr=0.1, warmup=3)
    lrs = [schedule.lr_at(k) for k in range(12)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert all(a > b for a, b in zip(lrs[3:10], lrs[4:11]))
    assert lrs[10] == lrs[11] == pytest.approx(0.1)


@pytest.mark.parametrize(("ours", "theirs"), [
    (lambda: StepDecay(0.1, step_size=7, gamma=0.3),
     lambda torch, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.3)),
    (lambda: Exponential(0.1, gamma=0.9),
     lambda torch, opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)),
    (lambda: CosineAnnealing(0.1, t_max=30, min_lr=0.001),
     lambda torch, opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30,
                                                                   eta_min=0.001)),
], ids=["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_matches_torch_lr_scheduler(ours, theirs):
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = theirs(torch, optimizer)
    expected = []
    for _ in range(31):
        expected.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    schedule = ours()
    np.testing.assert_allclose([schedule.lr_at(k) for k in range(31)], expected, rtol=1e-12)


def sklearn_adaptive(lr, losses, n_iter_no_change=10, tol=1e-4):
    """scikit-learn's MLP rule for learning_rate='adaptive', written out: the lr used in each
    epoch, given the loss after each epoch (its stopping at lr <= 1e-6 left out)."""
    best, count, used = math.inf, 0, []
    for loss in losses:
        used.append(lr)
        count = count + 1 if loss > best - tol else 0
        best = min(best, loss)
        if count > n_iter_no_change:
            lr /= 5.0
            count = 0
    return used


def lrs_used(schedule, values) -> list[float]:
    """The lr of each epoch, taken before the epoch's value (a loss or a score) updates the
    plateau rule, as fit does."""
    used = []
    for value in values:
        used.append(schedule.lr_at(len(used)))
        schedule.update(value)
    return used


@pytest.mark.parametrize("patience", [0, 2, 10])
def test_reduce_on_plateau_is_sklearn_adaptive(patience):
    rng = np.random.default_rng(patience)
    # a loss that falls, then stalls with noise, with the odd small improvement below tol
    losses = list(np.exp(-np.arange(15) / 5.0)) + list(0.05 + 1e-3 * rng.random(60))
    used = lrs_used(Adaptive(0.1, patience=patience), losses)
    expected = sklearn_adaptive(0.1, losses, n_iter_no_change=patience)
    np.testing.assert_allclose(used, expected, rtol=1e-12)
    assert min(used) < 0.1  # it did reduce


def test_reduce_on_plateau_best_follows_every_fall_even_below_tol():
    """A best moved only by falls of at least tol lags a slow descent, and the lr is never cut."""
    losses = [1.0 - 0.04 * k for k in range(12)]  # falls of 0.04 < tol = 0.1
    schedule = Adaptive(0.1, patience=2, tol=0.1)
    used = lrs_used(schedule, losses)
    # best is always the previous value, so each epoch after the first counts as no
    # improvement (0.04 short of tol): the count passes patience = 2 at epochs 3, 6 and 9,
    # each cutting the lr by 5 from the next epoch on
    expected = [0.1] * 4 + [0.02] * 3 + [0.004] * 3 + [0.0008] * 2
    np.testing.assert_allclose(used, expected, rtol=1e-12)
    np.testing.assert_allclose(used, sklearn_adaptive(0.1, losses, 2, tol=0.1), rtol=1e-12)
    assert schedule.best == losses[-1]


def test_reduce_on_plateau_max_mode_and_floor():
    schedule = Adaptive(1.0, factor=0.5, patience=1, tol=0.01, mode="max", min_lr=0.3)
    for score in [0.5, 0.6, 0.605, 0.6]:  # two epochs not 0.01 above the best 0.6: halve
        schedule.update(score)
    assert schedule.lr_at(4) == 0.5
    for score in [0.6, 0.7, 0.6, 0.6]:  # 0.7 resets the count; two more flat epochs
        schedule.update(score)
    assert schedule.lr_at(8) == 0.3  # 0.25, floored at min_lr
    assert Constant(0.1).update(3.0) is None  # the fixed schedules ignore the metric


# a loss that falls, stalls, falls by less than 1e-4 of itself, and rises (min), its negative
# as a score (max), with the options that change the rule
PLATEAU_VALUES = [1.0, 0.8, 0.8, 0.79995, 0.79992, 0.8, 0.81, 0.7, 0.7, 0.7, 0.7, 0.69, 0.7,
                  0.71, 0.72] + [0.5] * 12
PLATEAU_CASES = [{}, {"patience": 2}, {"patience": 1, "cooldown": 2},
                 {"patience": 0, "threshold_mode": "abs", "threshold": 0.005},
                 {"patience": 1, "min_lr": 0.004, "factor": 0.5},
                 {"patience": 1, "mode": "max"}, {"patience": 0, "mode": "max",
                                                  "threshold_mode": "abs"}]


def plateau_lrs(make_step, kwargs):
    """The lr after each update of a plateau rule fed PLATEAU_VALUES (negated in mode max)."""
    sign = -1.0 if kwargs.get("mode") == "max" else 1.0
    return [make_step(sign * value) for value in PLATEAU_VALUES]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    ours = ReduceLROnPlateau(0.1, **kwargs)

    def both(value):
        theirs.step(value)
        ours.update(value)
        return optimizer.param_groups[0]["lr"], ours.lr_at(0)

    pairs = plateau_lrs(both, kwargs)
    np.testing.assert_allclose([o for _, o in pairs], [t for t, _ in pairs], rtol=1e-12)
    assert len({t for t, _ in pairs}) > 1  # (the case reduces the lr at least once)


def test_reduce_lr_on_plateau_by_hand():
    """PyTorch's rule written out for the defaults with patience 2: a relative improvement of
    at least 1e-4 resets the count; the lr falls tenfold once it exceeds 2."""
    schedule = ReduceLROnPlateau(1.0, patience=2)
    lrs = []
    for loss in [1.0, 0.99995, 0.99995, 0.9999, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]:
        schedule.update(loss)
        lrs.append(schedule.lr_at(0))
    # 0.99995 is within 1e-4 of 1.0: three bad epochs (0.99995, 0.99995, 0.9999) -> 0.1;
    # 0.5 improves; then 0.6 x3 -> 0.01 at the third; three more -> 0.001
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001,
                                 0.001], rel=1e-12)
    copy = ReduceLROnPlateau(0.5, patience=7, cooldown=3)
    copy.load_state_dict(json.loads(json.dumps(schedule.state_dict())))
    assert copy.state_dict() == schedule.state_dict()


@pytest.mark.parametrize(("key", "value"), [
    ("current_lr", -1.0), ("current_lr", float("nan")), ("current_lr", float("inf")),
    ("current_lr", "0.1"),
    ("best", "0.3"), ("best", float("nan")), ("epochs_without_improvement", 2.9),
    ("epochs_without_improvement", -1), ("cooldown_counter", True), ("cooldown_counter", 1.5),
])
def test_a_damaged_running_state_is_refused(key, value):
    """It was cast and taken: a resume went on with a negative or NaN lr."""
    state = ReduceLROnPlateau(0.1, patience=1, cooldown=2).state_dict()
    state[key] = value
    schedule = ReduceLROnPlateau(0.1)
    with pytest.raises(ValueError, match=rf"running state is damaged \({key}: the lr must be"):
        schedule.load_state_dict(state)


def test_state_dict_round_trip():
    schedule = Adaptive(0.1, patience=1)
    for loss in [1.0, 0.9, 0.95, 0.95, 0.97]:
        schedule.update(loss)
    state = json.loads(json.dumps(schedule.state_dict()))
    resumed = get_schedule("adaptive", lr=1.0)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == schedule.state_dict()
    for loss in [0.99, 0.99, 0.5]:
        schedule.update(loss)
        resumed.update(loss)
        assert resumed.lr_at(0) == schedule.lr_at(0)

    cosine = CosineAnnealing(0.1, t_max=20, warmup=2)
    copy = CosineAnnealing(1.0, t_max=5)
    copy.load_state_dict(json.loads(json.dumps(cosine.state_dict())))
    assert [copy.lr_at(k) for k in range(25)] == [cosine.lr_at(k) for k in range(25)]
    with pytest.raises(ValueError, match="for 'CosineAnnealing', not 'Constant'"):
        Constant(0.1).load_state_dict(cosine.state_dict())
    # (a name that is no string, from a damaged file: the same error, not "unhashable type")
    with pytest.raises(ValueError, match=r"for \['Constant'\], not 'Constant'"):
        Constant(0.1).load_state_dict({**Constant(0.1).state_dict(), "schedule": ["Constant"]})


@pytest.mark.parametrize("key", ["hyperparameters", "current_lr", "best",
                                 "epochs_without_improvement"])
def test_load_state_dict_names_what_is_missing(key):
    """A dict without one of its entries used to fail with a bare KeyError (for the running
    state of Adaptive, after the hyperparameters had changed)."""
    state = Adaptive(0.5, patience=1).state_dict()
    del state[key]
    schedule = Adaptive(0.1)
    with pytest.raises(ValueError, match=rf"this state dict has no '{key}': load a whole dict "
                                         r"that Adaptive.state_dict\(\) wrote"):
        schedule.load_state_dict(state)
    assert schedule.lr == 0.1 and schedule.patience == 10  # left as it was


@pytest.mark.parametrize(("name", "kwargs", "cls"), [
    ("constant", {}, Constant),
    ("step", {"step_size": 5}, StepDecay),
    ("exponential", {"gamma": 0.9}, Exponential),
    ("cosine", {"t_max": 3}, CosineAnnealing),
    ("invscaling", {}, InverseScaling),
    ("plateau", {}, ReduceLROnPlateau),  # PyTorch's
    ("adaptive", {}, Adaptive),  # scikit-learn's
])
def test_each_schedule_name_gives_its_own_class(name, kwargs, cls):
    """Every name, not three of the seven: "constant" giving InverseScaling (which takes the
    same arguments) passed this module's tests."""
    schedule = get_schedule(name, lr=0.1, **kwargs)
    assert type(schedule) is cls
    assert type(get_schedule(name.upper(), lr=0.1, **kwargs)) is cls


def test_get_schedule_names():
    assert get_schedule("Cosine", lr=0.1, t_max=3).lr_at(np.int64(3)) == 0.0
    assert type(Constant(np.float32(0.5)).lr_at(0)) is float


@pytest.mark.parametrize(("make", "message"), [
    (lambda: get_schedule("linear", lr=0.1), r"unknown schedule 'linear'; choose one of "
                                             r"\['constant', 'step', 'exponential'"),
    (lambda: Constant(-0.1), r"lr must be a finite number >= 0, got -0.1"),
    (lambda: StepDecay(0.1, step_size=0), r"step_size must be an integer >= 1, got 0"),
    (lambda: Exponential(0.1, gamma=1.5), r"gamma must lie in \(0, 1\]"),
    (lambda: Exponential(0.1, gamma=0.0), r"gamma must lie in \(0, 1\]"),
    (lambda: CosineAnnealing(0.1, t_max=10, warmup=10), r"warmup must be < t_max = 10"),
    (lambda: CosineAnnealing(0.1, t_max=10, min_lr=0.2), r"min_lr must be <= lr"),
    (lambda: InverseScaling(0.1, power_t=-1), r"power_t must be a finite number >= 0"),
    (lambda: Adaptive(0.1, factor=1.0), r"factor must lie in \(0, 1\)"),
    # (a cut, max(lr * factor, min_lr), raised the lr to it, into a state refused as damaged)
    (lambda: Adaptive(0.01, min_lr=0.1), r"min_lr must be <= lr, got min_lr=0.1 > lr=0.01"),
    (lambda: ReduceLROnPlateau(0.01, min_lr=0.1), r"min_lr must be <= lr"),
    (lambda: Adaptive(0.1, patience=-1), r"patience must be an integer >= 0"),
    (lambda: Adaptive(0.1, mode="best"), r"mode must be 'min' \(a loss\) or 'max'"),
    (lambda: ReduceLROnPlateau(0.1, factor=1.0), r"factor must lie in \(0, 1\)"),
    (lambda: ReduceLROnPlateau(0.1, threshold_mode="relative"), r"threshold_mode must be 'rel'"),
    (lambda: ReduceLROnPlateau(0.1, cooldown=-1), r"cooldown must be an integer >= 0"),
    (lambda: Constant(0.1).lr_at(-1), r"index must be an integer >= 0, got -1"),
])
def test_bad_values_say_why(make, message):
    with pytest.raises(TypeError, match=r"lr must be a number, got 'big' \(a string"):
        Constant("big")
    with pytest.raises(TypeError, match=r"step_size must be an integer >= 1, got 2.5"):
        StepDecay(0.1, step_size=2.5)  # (not an integer: TypeError, as for range(2.5))
    with pytest.raises(ValueError, match=message):
        make()


def test_reduce_lr_on_plateau_skips_a_reduction_of_eps_or_less():
    """PyTorch reduces only when old_lr - new_lr > eps: 1.0 -> 0.5 changes it by 0.5."""
    lrs = {}
    for eps in (0.5, 0.25):
        schedule = ReduceLROnPlateau(1.0, factor=0.5, patience=0, eps=eps)
        for loss in (1.0, 1.0):  # the second: one bad epoch, more than patience 0
            schedule.update(loss)
        lrs[eps] = schedule.lr_at(0)
    assert lrs == {0.5: 1.0, 0.25: 0.5}


def test_adaptive_counts_a_fall_of_exactly_tol_as_an_improvement():
    """scikit-learn: no improvement when loss > best - tol; a loss of exactly best - tol
    improves (0.75 = 1.0 - 0.25 exactly in binary)."""
    schedule = Adaptive(1.0, patience=0, tol=0.25)
    for loss in (1.0, 0.75, 0.5):
        schedule.update(loss)
    assert schedule.lr_at(3) == 1.0
    schedule.update(0.5)  # no fall at all: count 1 > patience 0
    assert schedule.lr_at(4) == pytest.approx(0.2)


def test_adaptive_max_mode_is_the_min_rule_on_the_negated_score_with_the_same_tol():
    """mode "max" compares -score as a loss: a rise of 1.5 tol is an improvement, as the
    same fall of a loss is, and a rise of exactly tol too (a sign of -0.5 or -2 in place of
    -1 would halve or double the tol in mode max alone; the other max-mode test's rises are
    far from tol). The values are exact in binary."""
    scores = [0.0, 0.375, 0.75, 1.125, 1.375, 1.625] + [1.75] * 3 + [2.0]
    lrs = {mode: lrs_used(Adaptive(1.0, patience=0, tol=0.25, mode=mode),
                          [sign * score for score in scores])
           for mode, sign in (("max", 1.0), ("min", -1.0))}
    expected = sklearn_adaptive(1.0, [-score for score in scores], 0, tol=0.25)
    # rises of 0.375 and of exactly 0.25 improve; a rise of 0.125 and none do not
    np.testing.assert_allclose(expected, [1.0] * 7 + [0.2, 0.04, 0.008], rtol=1e-12)
    np.testing.assert_allclose(lrs["max"], expected, rtol=1e-12)
    np.testing.assert_allclose(lrs["min"], expected, rtol=1e-12)


@pytest.mark.parametrize("make", [lambda: ReduceLROnPlateau(0.0, patience=1),
                                  lambda: Adaptive(0.0, patience=1)])
def test_a_plateau_rule_at_lr_0_round_trips(make):
    """An lr of 0 is a valid lr (as for Constant(0.0)): its state dict loads again."""
    schedule = make()
    schedule.update(1.0)
    state = json.loads(json.dumps(schedule.state_dict()))
    copy = make()
    copy.load_state_dict(state)
    assert copy.state_dict() == schedule.state_dict() and copy.lr_at(5) == 0.0


def test_a_decay_factor_of_1_keeps_the_lr():
    """gamma lies in (0, 1]: 1 is allowed, and holds the lr (decay switched off)."""
    assert [StepDecay(0.1, step_size=2, gamma=1.0).lr_at(k) for k in range(5)] == [0.1] * 5
    assert [Exponential(0.1, gamma=1).lr_at(k) for k in range(5)] == [0.1] * 5


def test_schedules_take_no_number_beyond_floats_range():
    """(Bare OverflowErrors: from the hyperparameters, from lr_at of a huge index, and from
    InverseScaling's (t + 1) ** power_t.)"""
    with pytest.raises(ValueError, match="lr must be a finite number, got 1000"):
        get_schedule("constant", lr=10**400)
    with pytest.raises(ValueError, match=r"index must be at most 2\^53"):
        get_schedule("step", lr=0.1, step_size=2).lr_at(10**400)
    assert get_schedule("invscaling", lr=0.1, power_t=50).lr_at(10**7) == 0.0
    plateau = get_schedule("plateau", lr=0.1)
    plateau.update(10**400)  # (as inf: in mode "min", no improvement on the start's inf)
    plateau.load_state_dict(plateau.state_dict())
    assert (plateau.best, plateau.epochs_without_improvement, plateau.lr_at(0)) == \
        (math.inf, 1, 0.1)


def test_a_bad_state_dict_leaves_the_schedule_as_it_was():
    """(StepDecay kept the new lr of a state dict whose step_size was bad, and a plateau
    schedule was reset to its start by a damaged running state; None and [] raised
    AttributeError.)"""
    step = get_schedule("step", lr=0.1, step_size=2)
    bad = {**step.state_dict(), "hyperparameters": {"lr": 0.5, "step_size": 0}}
    with pytest.raises(ValueError, match="step_size"):
        step.load_state_dict(bad)
    assert step.lr == 0.1
    plateau = get_schedule("plateau", lr=0.1, patience=1)
    for value in (1.0, 2.0, 3.0):
        plateau.update(value)
    before = plateau.state_dict()
    with pytest.raises(ValueError, match="running state is damaged"):
        plateau.load_state_dict({**before, "current_lr": -1.0})
    assert plateau.state_dict() == before
    with pytest.raises(ValueError, match="hyperparameters must be a dict"):
        get_schedule("step", lr=0.1, step_size=2).load_state_dict(
            {**step.state_dict(), "hyperparameters": None})
    # (a wrong entry of a dict, of whatever type, is a damaged state: these were TypeErrors)
    for hyperparameters, message in (({"lr": "0.5", "step_size": 2}, "lr must be a number"),
                                     ({"lr": 0.5, "step_size": 2.5}, "step_size must be an "
                                                                     "integer >= 1, got 2.5"),
                                     ({"lr": 0.5, "step": 2}, "StepDecay takes no 'step'")):
        with pytest.raises(ValueError, match="this state dict's hyperparameters are damaged: "
                                             + message):
            step.load_state_dict({**step.state_dict(), "hyperparameters": hyperparameters})
        assert step.lr == 0.1 and step.step_size == 2


def test_a_plateau_best_beyond_the_start_is_damage():
    """A best of -inf in mode "min" (from a damaged -10**400) is one no epoch improves on: the
    lr fell every epoch (0.1 -> 1e-4 after three). The start's +inf loads."""
    for mode, wrong in (("min", -10**400), ("min", -math.inf), ("max", math.inf)):
        plateau = get_schedule("plateau", lr=0.1, patience=0, mode=mode)
        with pytest.raises(ValueError, match=r"running state is damaged \(best"):
            plateau.load_state_dict({**plateau.state_dict(), "best": wrong})
        plateau.load_state_dict(plateau.state_dict())  # (its start: +-inf)


def test_a_plateau_lr_above_its_initial_lr_is_damage():
    """(It loaded: the rule only lowers the lr, so no run holds a higher one.)"""
    plateau = get_schedule("plateau", lr=0.1)
    with pytest.raises(ValueError, match=r"running state is damaged \(current_lr: the lr must "
                                         r"be a number from 0 to the initial lr"):
        plateau.load_state_dict({**plateau.state_dict(), "current_lr": 0.2})
    plateau.load_state_dict({**plateau.state_dict(), "current_lr": 0.1})


# -- what a fourth mutation review found untested --------------------------------------------
@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_reduce_lr_on_plateau_counts_a_value_equal_to_the_bound_as_no_improvement(
        mode, threshold_mode):
    """PyTorch's comparisons are strict in both modes: with threshold 0 a value equal to the
    best (an accuracy that stays put, as accuracies often do) is a bad epoch, so the lr falls
    once the count exceeds the patience; it must not reset the count. (torch.optim's
    ReduceLROnPlateau gives these lrs too.)"""
    schedule = ReduceLROnPlateau(0.1, mode=mode, patience=1, threshold=0.0,
                                 threshold_mode=threshold_mode)
    lrs = []
    for value in [0.5, 0.5, 0.5, 0.5, 0.5]:
        schedule.update(value)
        lrs.append(schedule.lr_at(0))
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001], rel=1e-12)


# -- what a fifth mutation review found untested ---------------------------------------------
def test_the_largest_index_is_2_to_the_53_itself():
    """lr_at takes an index of at most 2^53, as its message says: 2^53 itself is taken (a
    bound of 2^52, or a check written index >= MAX_INDEX, refused it) and 2^53 + 1 is not."""
    k = 2**53
    assert Constant(0.1).lr_at(k) == 0.1
    assert StepDecay(0.1, step_size=k, gamma=0.5).lr_at(k) == 0.1 * 0.5 ** (k // k)
    assert CosineAnnealing(0.1, t_max=3, min_lr=0.01).lr_at(k) == 0.01  # held after t_max
    with pytest.raises(ValueError, match=r"index must be at most 2\^53, got 9007199254740993"):
        Constant(0.1).lr_at(k + 1)


def test_a_cosine_over_one_epoch_is_lr_then_min_lr():
    """t_max >= 1: t_max = 1 is a whole cosine (p = min(1, k / 1)), and t_max = 0 is refused
    for itself, not as a warm-up that does not fit."""
    lr, min_lr = 0.1, 0.02
    schedule = CosineAnnealing(lr, t_max=1, min_lr=min_lr)
    expected = [min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(1.0, k / 1))) / 2
                for k in range(3)]
    assert [schedule.lr_at(k) for k in range(3)] == expected  # lr, min_lr, min_lr
    with pytest.raises(ValueError, match=r"t_max must be an integer >= 1, got 0"):
        CosineAnnealing(lr, t_max=0)


@pytest.mark.parametrize("make", [lambda: Adaptive(0.1, patience=0),
                                  lambda: ReduceLROnPlateau(0.1, patience=0)])
def test_a_plateau_rule_keeps_the_values_it_is_given_as_floats(make):
    """update() takes what fit reports: a NumPy float32 loss (kept as is, the state dict held
    a float32 that json cannot write) or an int beyond float's range (kept as is, Adaptive's
    best became that int instead of the inf it reads as). The best is their float()."""
    schedule = make()
    schedule.update(np.float32(0.75))
    assert type(schedule.best) is float and schedule.best == float(np.float32(0.75))
    json.dumps(schedule.state_dict())
    schedule = make()
    schedule.update(10**400)  # read as +inf: no better than the start's +inf
    assert type(schedule.best) is float and schedule.best == math.inf


# -- what a sixth mutation review found untested ---------------------------------------------
@pytest.mark.parametrize(("make", "message"), [
    (lambda: ReduceLROnPlateau(0.1, threshold=-1e-4), r"threshold must be a finite number >= 0"),
    (lambda: ReduceLROnPlateau(0.1, eps=-1e-8), r"eps must be a finite number >= 0"),
    (lambda: ReduceLROnPlateau(0.1, min_lr=-0.01), r"min_lr must be a finite number >= 0"),
    (lambda: Adaptive(0.1, tol=-1e-4), r"tol must be a finite number >= 0, got -0.0001"),
    (lambda: CosineAnnealing(0.1, t_max=5, min_lr=-0.01), r"min_lr must be a finite number >= 0"),
], ids=["threshold", "eps", "plateau-min_lr", "tol", "cosine-min_lr"])
def test_the_lower_bounds_no_other_test_reaches_are_checked(make, message):
    """Each was taken without a word once its check was taken out: a negative threshold or
    tol counts a worse value as an improvement, and a negative min_lr lets the lr fall below
    0, where it climbs the loss."""
    with pytest.raises(ValueError, match=message):
        make()


def test_a_cosine_from_lr_to_the_same_min_lr_is_constant():
    """min_lr <= lr: min_lr = lr is taken (a check written min_lr >= lr refused it) and holds
    the lr through the warm-up's end and beyond t_max."""
    schedule = CosineAnnealing(0.1, t_max=5, min_lr=0.1, warmup=1)
    assert [schedule.lr_at(k) for k in range(1, 8)] == [0.1] * 7


def test_a_cosine_warm_up_ends_at_the_lr_itself_never_above_it():
    """At k = warmup the cosine starts, at lr itself: the warm-up's formula continued one
    epoch further gives lr * (k + 1) / (warmup + 1), which is not lr in floating point
    (0.1 * 3 / 3 = 0.10000000000000002), so the schedule's peak exceeded the lr it was
    given."""
    for warmup in (2, 5, 11):
        schedule = CosineAnnealing(0.1, t_max=20, warmup=warmup)
        lrs = [schedule.lr_at(k) for k in range(22)]
        assert lrs[warmup] == 0.1 and max(lrs) == 0.1


def test_reduce_lr_on_plateau_starts_the_cooldown_when_the_lr_is_at_min_lr():
    """PyTorch starts the cooldown whenever the bad epochs pass the patience, also when the
    lr is already at min_lr and stays: the lr is the same either way, but the counts are the
    running state a checkpoint saves, and a rule that started the cooldown only on an actual
    cut saved other ones than PyTorch's."""
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    kwargs = {"factor": 0.5, "patience": 0, "cooldown": 2, "min_lr": 0.04}
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    ours = ReduceLROnPlateau(0.1, **kwargs)
    for _ in range(10):  # 0.1 -> 0.05 -> 0.04 = min_lr (epochs 2 and 5); then cooldowns alone
        theirs.step(1.0)
        ours.update(1.0)
        assert (ours.lr_at(0), ours.best, ours.epochs_without_improvement,
                ours.cooldown_counter) == pytest.approx(
            (optimizer.param_groups[0]["lr"], theirs.best, theirs.num_bad_epochs,
             theirs.cooldown_counter), rel=1e-12)
    assert ours.lr_at(0) == 0.04


@pytest.mark.parametrize("state", [None, [], "cosine", 0.1])
def test_load_state_dict_given_no_dict_is_a_type_error(state):
    """Not a dict at all is the wrong type of argument (as the optimizers and EarlyStopping
    say too), where a dict with wrong entries is a wrong value."""
    schedule = CosineAnnealing(0.1, t_max=5)
    with pytest.raises(TypeError, match=r"load_state_dict takes the dict that "
                                        r"CosineAnnealing.state_dict\(\) wrote, got"):
        schedule.load_state_dict(state)
    assert schedule.lr == 0.1 and schedule.t_max == 5


def test_torch_and_keras_names_are_refused_naming_xpnets():
    """PyTorch's CosineAnnealingLR(T_max, eta_min) and Keras's EarlyStopping
    (restore_best_weights) got Python's bare "unexpected keyword argument"."""
    from xpnet import EarlyStopping

    for make, message in (
            (lambda: CosineAnnealing(0.1, T_max=5), "CosineAnnealing takes no 'T_max': it takes "
                                                    "lr, t_max, min_lr, warmup; T_max is called "
                                                    "t_max here"),
            (lambda: CosineAnnealing(0.1, t_max=5, eta_min=0.0), "; eta_min is called min_lr"),
            (lambda: EarlyStopping(restore_best_weights=True), "EarlyStopping takes no "
                                                               "'restore_best_weights': it takes "
                                                               "monitor, patience, min_delta, "
                                                               "restore_best; restore_best_weights "
                                                               "is called restore_best here"),
            (lambda: EarlyStopping(baseline=0.5), "'baseline': it takes monitor, patience, "
                                                  "min_delta, restore_best$")):
        with pytest.raises(TypeError, match=re.escape(message.rstrip("$"))
                           + ("$" if message.endswith("$") else "")):
            make()
    assert EarlyStopping(patience=2, restore_best=False).patience == 2


@pytest.mark.parametrize(("make", "change", "message"), [
    (lambda: CosineAnnealing(0.1, t_max=5), {"t_max": 0}, "t_max must be an integer >= 1"),
    (lambda: StepDecay(0.1, step_size=2), {"step_size": 0}, "step_size must be an integer >= 1"),
    (lambda: CosineAnnealing(0.1, t_max=5), {"warmup": 5}, "warmup must be < t_max"),
    (lambda: ReduceLROnPlateau(0.1), {"mode": "minimum"}, "mode must be 'min' (a loss) or"),
    (lambda: CosineAnnealing(0.1, t_max=5), {"min_lr": 0.5}, "min_lr must be <= lr")])
def test_a_hyperparameter_set_after_construction_is_checked_by_fit_before_training(
        make, change, message):
    """Checked only by the constructor, ``schedule.t_max = 0`` trained into a
    ZeroDivisionError, and ``mode = "minimum"`` ran silently as "max"."""
    X, y = blobs(n=60)
    schedule = make()
    for name, value in change.items():
        setattr(schedule, name, value)
    net = small_net()
    before = net.theta.copy()
    with pytest.raises(ValueError, match=re.escape(message)):
        net.fit(X, y, epochs=2, schedule=schedule, progress=False)
    np.testing.assert_array_equal(net.theta, before)


def test_a_numpy_number_set_after_construction_is_stored_as_a_float(tmp_path):
    """A NumPy lr set on a schedule since it was made (an lr sweep over np.logspace) reached
    the checkpoint's JSON as it was, which failed after the first epoch: 'Object of type
    float32 is not JSON serializable'."""
    X, y = blobs(n=60)
    schedule = StepDecay(0.1, step_size=2)
    schedule.lr = np.float32(0.5)
    history = small_net().fit(X, y, epochs=2, schedule=schedule, progress=False,
                              checkpoint=tmp_path / "run.npz")
    assert type(schedule.lr) is float and history["lr"] == [0.5, 0.5]


@pytest.mark.parametrize("make", [lambda: ReduceLROnPlateau(0.1, patience=0, factor=0.5,
                                                            threshold=10.0, threshold_mode="abs"),
                                  lambda: Adaptive(0.1, patience=0, factor=0.5, tol=10.0)],
                         ids=["plateau", "adaptive"])
def test_a_plateau_rule_goes_on_from_its_cut_lr_unless_its_lr_was_set_since(make, tmp_path):
    """A second fit goes on from the rule's cut lr (as PyTorch's does); an lr set on the rule
    since, it trained on at the lr it had, and wrote a checkpoint holding that lr, above its
    initial one, which a resume refused as damaged."""
    X, y = blobs(n=60)
    rule = make()
    first = small_net().fit(X, y, epochs=2, schedule=rule, progress=False)
    cut = rule.current_lr
    assert first["lr"] == [0.1, 0.1] and cut == 0.05  # (cut after the second epoch)
    second = small_net().fit(X, y, epochs=1, schedule=rule, progress=False)
    assert second["lr"] == [cut]
    rule.lr = 0.02
    path = tmp_path / "run.npz"
    third = small_net().fit(X, y, epochs=1, schedule=rule, progress=False, checkpoint=path)
    assert third["lr"] == [0.02]
    resumed = make()
    resumed.lr = 0.02
    small_net().fit(X, y, epochs=2, schedule=resumed, progress=False, resume=path)


@pytest.mark.parametrize("rule", [ReduceLROnPlateau, Adaptive], ids=["plateau", "adaptive"])
def test_a_plateau_rule_whose_mode_was_set_since_starts_its_best_again(rule, tmp_path):
    """``rule.mode = "max"`` kept the best of "min"'s start, +inf, which no accuracy improves
    on: the lr was cut after every epoch, and the checkpoint, a best of +inf in mode "max",
    was refused as damaged on resume."""
    X, y = blobs(n=60)
    watching = rule(0.1, patience=0)
    watching.mode = "max"
    path = tmp_path / "run.npz"
    history = small_net().fit(X, y, epochs=1, schedule=watching, progress=False,
                              validation_split=0.2, checkpoint=path)
    assert watching.best == history["val_accuracy"][0] and watching.current_lr == 0.1
    small_net().fit(X, y, epochs=2, schedule=rule(0.1, patience=0, mode="max"),
                    progress=False, validation_split=0.2, resume=path)


@pytest.mark.parametrize("make", [lambda: ReduceLROnPlateau(0.1, patience=1),
                                  lambda: Adaptive(0.1, patience=1),
                                  lambda: Adaptive(0.1, patience=1, mode="max")],
                         ids=["plateau", "adaptive", "adaptive-max"])
def test_a_nan_is_no_improvement_to_either_plateau_rule(make):
    """Adaptive asked "is it worse by tol?", which a NaN (a validation loss that overflowed)
    never is: each NaN started its count again, and the lr was never cut."""
    rule = make()
    rule.update(1.0)
    for _ in range(2):
        rule.update(float("nan"))
    assert rule.current_lr < 0.1 and rule.best == 1.0


class Linear(Schedule):
    """A schedule of one's own whose __init__ keeps its argument under another name, behind
    a read-only property, and takes **options."""

    def __init__(self, lr, epochs, **options):
        super().__init__(lr)
        self._span, self.options = epochs, options

    @property
    def span(self):
        return self._span

    def _lr(self, index):
        return self.lr * (1 - index / self.span)


def test_a_schedule_of_ones_own_with_its_own_init_trains_as_made():
    """fit's check of the hyperparameters made the schedule again from its attributes: one
    that kept ``epochs`` as ``span`` failed with a bare AttributeError before training, and
    its **options came back nested, {'options': {...}}."""
    X, y = blobs(n=60)
    schedule = Linear(0.1, epochs=4, note="mine")
    history = small_net().fit(X, y, epochs=2, schedule=schedule, progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.075]) and schedule.options == {"note": "mine"}
