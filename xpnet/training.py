"""Training: mini-batch gradient descent with the data resident on the device.

In the lecture's words: an *epoch* is one pass over all the training data; an *iteration* (a
step) is one mini-batch: forward, backprop, one optimizer update of theta.

The hot loop is built so that nothing crosses between host and device per batch:

- the training data move to the device once; each epoch only a permutation of the sample
  indices goes host -> device, and each batch is gathered on the device with ``xp.take``;
- the loss and the count of correct predictions accumulate on the device: a step only keeps
  its output layer's z_L and a_L, and they are counted for thousands of samples at once
  (``_Tally``); the host reads them (a sync) only every ``SYNC_SECONDS`` to refresh the
  progress bar and check for divergence, and at the end of each epoch.

Here too: fit's checks of its options, ``evaluate`` and ``confusion_matrix``, the progress bars,
and the training state that a checkpoint keeps and a resume restores (``_Loop.save``,
``_Loop.resume``, ``check_resume``). Elsewhere: how a Ctrl-C or a SIGTERM becomes a request to stop
(:mod:`xpnet.signals`), the History (:mod:`xpnet.history`), early stopping's rule
(:mod:`xpnet.early_stopping`), the BLAS threads asked for and their choice by timing
(:mod:`xpnet.threads`), the checkpoint file's format (:mod:`xpnet.checkpoint`), and the lock
that keeps a checkpoint to one run (:func:`xpnet.files.only_writer`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import numbers
import os
import stat
import sys
import time
import weakref
from typing import Literal, cast

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from . import checkpoint as ckpt
from .backend import Seed
from .checks import (
    check_keywords,
    checked_batch_size,
    counted,
    flag,
    integer_at_least,
    whole_number,
)
from .early_stopping import EarlyStopping
from .files import check_writable, only_writer, replaces_another
from .history import History, check_history_not_shared, history_path, is_history_file
from .losses import sum_of_costs
from .optim import OPTIMIZERS, Optimizer, get_optimizer
from .schedules import Schedule
from .signals import EndBySignal, end_by_signal, stop_on_signals
from .threads import ThreadChooser, available_cores, threads_asked

log = logging.getLogger("xpnet")

#: non-empty once fit has said that the threads asked for cannot be set (see fit)
_UNSET_THREADS_TOLD: list[int] = []
#: how often (seconds) the host reads the running loss: progress refresh and divergence check
SYNC_SECONDS = 0.5
#: a training epoch keeps up to this many rows of z_L and a_L before it computes their loss and
#: accuracy (_Tally), and at most TALLY_NUMBERS numbers in each (fewer rows for wide outputs)
TALLY_ROWS, TALLY_NUMBERS = 8192, 2**20


class DivergenceError(FloatingPointError):
    """The training loss became NaN or inf: ``cause`` says where and what to try, ``epoch``
    is the epoch it happened in (from 1), and the message adds what became of the run."""

    def __init__(self, cause: str, epoch: int | None = None, outcome: str = ""):
        super().__init__(f"{cause} {outcome}".strip())
        self.cause, self.epoch, self.outcome = cause, epoch, outcome

    def __reduce__(self):  # (pickle and copy: the three arguments, not the joined message)
        return type(self), (self.cause, self.epoch, self.outcome)


#: the latest ThreadChooser of each network and batch size: a loop of fit(epochs=1) calls
#: goes on with the choice and the schedule of trials of the call before
_THREAD_CHOOSERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: the settings of a run that depend on its data (checked by fit, not by check_resume)
DATA_SETTINGS = ("training_samples", "validation_samples")
#: the metadata that says how a run was asked for, not which run it is: `xpnet train`'s
#: options, which a resume for more epochs changes. It is kept, not compared, on resume
OPTIONS_METADATA = "train_options"
#: what targets without class labels are (see Network._holds_labels), for the messages
NO_LABELS = ("real-valued (a regression), or rows with several 1s or none (several labels "
             "or none each)")
#: what fit calls on a schedule: each epoch, and where a checkpoint keeps the run
SCHEDULE_METHODS = ("lr_at", "update")
RECORDED_SCHEDULE_METHODS = ("state_dict", "load_state_dict")
#: what a resume refused for other options is told to do (the command line, whose checkpoints
#: record their options, tells to leave those out instead)
RESUME_ADVICE = "Resume with the options it was saved with"


class _Data:
    """X, the target rows Y and the class labels of a data set, on the device, checked once.
    ``labels`` is None where Y names no class a row (a regression's real-valued targets,
    rows with several 1s), which has no accuracy, decided here once for the whole data set
    (see Network._holds_labels)."""

    def __init__(self, net, X, y, name: str = "X"):
        self.X = net._check_X(X, unscaled_warning=name)  # raises for no samples too
        self.Y = net._targets(y, self.X.shape[0])
        self.labels = net._classes(self.Y) if net._holds_labels(self.Y) else None
        self.n = self.X.shape[0]

    def split(self, n_first: int):
        """The first n_first samples and the rest (device views, no copy)."""
        first, rest = object.__new__(_Data), object.__new__(_Data)
        for part, sl in ((first, slice(0, n_first)), (rest, slice(n_first, self.n))):
            part.X, part.Y = self.X[sl, ...], self.Y[sl, ...]
            part.labels = None if self.labels is None else self.labels[sl]
            part.n = part.X.shape[0]
        return first, rest


def _hits(net, output, labels):
    """The number of rows whose predicted class is the label, as a device scalar."""
    return net.xp.count_nonzero(net._classes(output) == labels)


class _Tally:
    """The loss and the right predictions of an epoch's batches, counted many batches at once.

    A step only copies its output layer's z_L and a_L into device buffers. When they are
    full, and whenever the figures are read, :meth:`count` computes the cost C_i of every kept
    sample and its predicted class in a few vectorized calls: for a small network, the dozen
    small calls a step would otherwise make for its loss and accuracy cost more time than
    its products (on a GPU: a dozen kernel launches a step).
    """

    def __init__(self, net, train: _Data, order, batch_size: int, n_batches: int, first: int,
                 carried: dict | None = None):
        n_out = net.sizes[-1]
        rows = max(1, min(TALLY_ROWS, TALLY_NUMBERS // n_out) // batch_size) * batch_size
        rows = min(rows, train.n)  # (then every row of an epoch fits, and no batch is split)
        self.net, self.train, self.order, self.batch_size = net, train, order, batch_size
        # (rows, n_out) arrays stored as columns, (n_out, rows).T: the reductions over each
        # row's n_out numbers then run down contiguous columns, 5x faster on NumPy than along
        # short rows; y, the targets, is gathered into the same layout
        self.z, self.a, self.y = (net.backend.zeros((n_out, rows), net.dtype).T
                                  for _ in range(3))
        self.batch_losses = net.backend.zeros(n_batches, "float64")  # each batch's mean loss
        # the epoch's batches before `first`, counted before an interruption (see totals)
        carried = carried or {"loss_sum": 0.0, "hits": 0, "seen": 0}
        # (device scalars after the first count)
        self.loss_sum, self.hits = carried["loss_sum"], carried["hits"]
        self.kept = 0  # rows kept and not counted yet, of batches next_step, next_step + 1, ...
        self.next_step = first
        self.seen = carried["seen"]  # rows of this epoch, counted or kept

    @property
    def full(self) -> bool:
        """True when another batch would not fit: time to :meth:`count`."""
        return self.kept + self.batch_size > self.z.shape[0]

    def add(self, z, a) -> None:
        """Keep a batch's z_L and a_L (from the weights before the batch's update); the loop
        counts whenever the tally is :attr:`full`, so a batch always fits."""
        rows = z.shape[0]
        self.z[self.kept:self.kept + rows, ...] = z
        self.a[self.kept:self.kept + rows, ...] = a
        self.kept += rows
        self.seen += rows

    def count(self) -> None:
        """Add the kept rows' costs and right predictions to the tally, and each of their
        batches' mean loss to ``batch_losses`` (all batches have batch_size rows but the
        epoch's last)."""
        if not self.kept:
            return
        xp, net, size, kept = self.net.xp, self.net, self.batch_size, self.kept
        start = self.next_step * size
        idx = self.order[start:start + kept]
        self.y[:kept, ...] = xp.take(self.train.Y, idx, axis=0)
        a = self.a[:kept, ...]
        costs = net.loss.per_sample(xp, self.z[:kept, ...], a, self.y[:kept, ...])
        full, rest = divmod(kept, size)
        step = self.next_step
        if full:
            self.batch_losses[step:step + full] = sum_of_costs(
                xp, xp.reshape(costs[:full * size], (full, size)), axis=1) / size
        if rest:
            self.batch_losses[step + full] = sum_of_costs(xp, costs[full * size:]) / rest
        self.loss_sum = self.loss_sum + sum_of_costs(xp, costs)
        if self.train.labels is not None:
            self.hits = self.hits + _hits(net, a, xp.take(self.train.labels, idx, axis=0))
        self.next_step += full + (rest > 0)
        self.kept = 0

    def means(self) -> tuple[float, float | None]:
        """The mean loss and the accuracy of the epoch's batches so far (a sync); no accuracy
        (None) for training data without class labels."""
        totals = self.totals()
        return totals["loss_sum"] / self.seen, _accuracy(self.train, totals["hits"], self.seen)

    def totals(self) -> dict:
        """The sum of the costs, the right predictions and the rows of the epoch's batches so
        far, as host numbers (a sync): what a resumed run's tally starts from."""
        self.count()
        return {"loss_sum": float(self.loss_sum), "hits": int(self.hits), "seen": self.seen}


def _accuracy(data: _Data, hits, seen: int) -> float | None:
    """The share of right predictions, or None for data without class labels."""
    return None if data.labels is None else float(hits) / seen


def _evaluate(net, data: _Data, batch_size: int) -> tuple[float, float | None]:
    """Mean loss and accuracy (None without class labels) of ``data``, summed in batches on
    the device; the host reads the two sums once, after the last batch."""
    xp = net.xp
    loss_sum = hits = 0
    for start in range(0, data.n, batch_size):
        stop = min(start + batch_size, data.n)
        z, output = net._infer(data.X[start:stop, ...])
        loss_sum = loss_sum + sum_of_costs(
            xp, net.loss.per_sample(xp, z, output, data.Y[start:stop, ...]))
        if data.labels is not None:
            hits = hits + _hits(net, output, data.labels[start:stop])
    return float(loss_sum) / data.n, _accuracy(data, hits, data.n)


def check_resume(net, path, *, optimizer: str | Optimizer = "adam", epochs: int = 10,
                 batch_size: int = 32, shuffle: bool = True, seed: Seed = 0,
                 schedule=None, early_stopping: EarlyStopping | bool | None = None,
                 drop_last: bool = False, metadata: dict | None = None,
                 samples: tuple[int, int] | None = None) -> None:
    """Raise what ``fit(net, X, y, resume=path, ...)`` with these options (and fit's
    defaults) would raise for ``path``, without the data (the command line calls it before
    loading them): all but the numbers of training and validation samples, which fit checks,
    unless ``samples`` gives them (training, validation). The network and the optimizer are
    only read; the schedule and early stopping are checked as fit checks them, which stores
    their settings as plain Python numbers (and starts a plateau rule given a new lr again
    from it)."""
    epochs, batch_size = _checked_counts(epochs, batch_size)
    shuffle, drop_last = flag("shuffle", shuffle), flag("drop_last", drop_last)
    _check_schedule(schedule, recorded=True)
    ckpt.check_metadata(metadata)
    optimizer, early_stopping = _checked_run(optimizer, early_stopping, seed, recorded=True)
    # (no seed: a scratch shuffling stream, not the network's, which its next fit goes on
    # with; with validation: no warning about its absence, which fit gives)
    loop = _Loop(net, optimizer, schedule, early_stopping, True, None, metadata)
    settings = _run_settings(batch_size, shuffle, seed, drop_last, early_stopping)
    if samples is not None:
        settings |= dict(zip(DATA_SETTINGS, samples))
    loop.resume(path, settings, None, epochs, check_only=True)


def evaluate(net, X, y, batch_size: int = 1024) -> tuple[float, float | None]:
    """(mean loss, accuracy) of the network on X, y, computed ``batch_size`` rows at a time on
    the device, with no read per batch: the checks of y read it before the first batch, and
    the two sums are read after the last. ``net.evaluate(X, y)`` calls it. The accuracy is
    None where y does not name one class a sample (real-valued targets, a regression's,
    whose figure is the loss; rows with several 1s): see Network._holds_labels."""
    return _evaluate(net, _Data(net, X, y), checked_batch_size(batch_size))


def confusion_matrix(net, X, y, batch_size: int = 1024):
    """The confusion matrix of ``net`` on X, y: a (classes, classes) host array whose
    counts[i, j] are the samples of class i that ``net`` predicts as class j (rows: the true
    class, columns: the predicted class, as ``xpnet evaluate`` prints it). Accumulated on the
    device, ``batch_size`` rows at a time (one-hot(labels)^T one-hot(predictions), exact in
    float up to 2^24 samples); y's class indices are checked (one out of range would be
    counted nowhere)."""
    data, batch_size = _Data(net, X, y), checked_batch_size(batch_size)  # (checked once)
    if data.labels is None:
        raise ValueError("a confusion matrix needs class labels: y must name one class a "
                         f"sample (labels in 0..{net.sizes[-1] - 1}, or one-hot rows)")
    counts = net.backend.zeros((net.sizes[-1], net.sizes[-1]), net.dtype)
    for start in range(0, data.n, batch_size):
        batch = slice(start, start + batch_size)
        counts += data.Y[batch].T @ net._one_hot(net.predict(data.X[batch, ...]))
    return net.backend.to_numpy(counts)


def _console_loggers() -> list[logging.Logger]:
    """The loggers on the way from xpnet's to the root that print to the console: their
    output goes through tqdm while bars are shown (a logger without such a handler is left
    alone, so that no message is printed twice; with none, xpnet's logger gets tqdm's
    handler, in place of Python's last-resort printing to stderr)."""
    return [logger for logger in (log, logging.root)
            if any(isinstance(h, logging.StreamHandler) and h.stream in (sys.stdout, sys.stderr)
                   for h in logger.handlers)]


def _show_progress(progress: bool | None) -> bool:
    """Whether to show the bars: ``progress`` (checked by fit: True, False or None, for a
    terminal or a notebook), unless $TQDM_DISABLE says no."""
    if _tqdm_disabled():
        return False
    if progress is None:
        return sys.stderr.isatty() or "ipykernel" in sys.modules
    return progress


def _tqdm_disabled() -> bool:
    """Whether $TQDM_DISABLE asks for no bars."""
    return os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")


def _fit_hints() -> dict:
    """What fit says of a keyword it does not take that Keras's fit, torch.optim or the
    lecture suggests: where it goes instead."""
    lr = ("the learning rate is the optimizer's: optimizer=xpnet.optim.SGD(lr=0.1), or "
          "xpnet.optim.get_optimizer('adam', lr=1e-3)")
    hints = {"lr": lr, "learning_rate": lr, "eta": lr,  # (eta: the lecture's)
             "verbose": "progress=False silences the bars (and the lines printed where there "
                        "is no terminal)",
             "callbacks": "early_stopping=, schedule= and checkpoint= do what Keras's usual "
                          "callbacks do",
             "initial_epoch": "a run goes on from its checkpoint, at its epoch: "
                              "checkpoint=PATH saves it after each epoch, resume=PATH goes on",
             "loss": "the loss is the network's: Network(sizes, loss=...)",
             "metrics": "fit reports the loss, and the accuracy where the targets are class "
                        "labels"}
    for name, (cls, _) in OPTIMIZERS.items():  # (momentum: 'sgd', betas: 'adam', ...)
        for hyperparameter in cls.hyperparameters:
            hints.setdefault(hyperparameter, f"{hyperparameter} is the optimizer's: optimizer="
                                             f"get_optimizer({name!r}, {hyperparameter}=...)")
    for option in tuple(inspect.signature(EarlyStopping.__init__).parameters)[1:]:
        hints.setdefault(option, f"{option} is early stopping's: "
                                 f"early_stopping=EarlyStopping({option}=...)")
    hints["restore_best_weights"] = hints["restore_best"]  # (Keras's name)
    return hints


#: what fit says of a keyword it does not take (see _fit_hints)
FIT_HINTS = _fit_hints()


def _keywords_checked(fit):
    """``fit`` refusing a keyword it does not take with check_keywords's error, which names
    those it takes and what was meant (Keras's ``verbose``, an ``lr`` that is the
    optimizer's), before Python's bare "unexpected keyword argument"."""
    taken = tuple(inspect.signature(fit).parameters)[3:]  # (after net, X, y)

    @functools.wraps(fit)
    def fit_with_keywords_checked(net, X, y, *more, **options):
        if more:  # (Keras's fit(x, y, batch_size, epochs), the lecture's SGD(data, epochs, ...))
            # (two arrays more: validation data, given as Keras's fit(x, y, validation_data=)
            # takes them; an array is said by its shape, not its thousands of numbers)
            arrays = [hasattr(arg, "shape") for arg in more]
            hint = ("; validation data go as validation_data=(X_val, y_val)"
                    if arrays[:2] == [True, True] else "")
            raise TypeError(f"fit takes X and y, and the rest by keyword only, e.g. fit(X, y, "
                            f"epochs=10, batch_size=32): got {len(more)} more positional "
                            f"argument{'s' if len(more) > 1 else ''}, "
                            f"{', '.join(map(_briefly, more))}{hint}")
        check_keywords("fit", options, taken, FIT_HINTS)
        return fit(net, X, y, **options)

    return fit_with_keywords_checked


def _briefly(value) -> str:
    """``value`` for a message: an array by its shape and dtype, anything else by its repr,
    cut to 40 characters."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return f"{value!r:.40}"


def _only_writer_of_its_checkpoint(fit):
    """``fit`` run as the only process that writes its checkpoint (and the history beside
    it): a second run given the same file is refused at once (files.only_writer), before
    either replaces the other's run."""
    @functools.wraps(fit)
    def fit_holding_its_checkpoint(net, X, y, *, checkpoint=None, **options):
        try:
            with only_writer(checkpoint):
                return fit(net, X, y, checkpoint=checkpoint, **options)
        except EndBySignal as ending:  # (the lock let go of: its file removed)
            end_by_signal(ending.signum)
            raise  # (still here: a container's PID 1; the SystemExit ends it as the signal would)

    return fit_holding_its_checkpoint


@_keywords_checked
@_only_writer_of_its_checkpoint
def fit(net, X, y, *, optimizer: str | Optimizer = "adam", epochs: int = 10,
        batch_size: int = 32, validation_data=None, validation_split: float = 0.0,
        shuffle: bool = True, seed: Seed = 0, schedule=None,
        early_stopping: EarlyStopping | bool | None = None, progress: bool | None = None,
        checkpoint=None, resume=None, drop_last: bool = False,
        threads: int | None = None, metadata: dict | None = None) -> History:
    """Train ``net`` by mini-batch gradient descent and return the :class:`History`
    (``net.fit(X, y, ...)`` calls it).

    ``X`` (n, n_0) and ``y``, class indices (n,) or target rows (n, n_L), as for
    :meth:`xpnet.Network.loss_and_gradient`. ``optimizer``: a name ("sgd", "adam", ...; see
    :func:`xpnet.optim.get_optimizer`), which trains with that optimizer's default lr
    (PyTorch's: sgd 1e-3), or an Optimizer such as ``SGD(lr=3.0)``.
    ``validation_data=(Xv, yv)``, or ``validation_split`` as Keras: the first
    floor(n (1 - split)) samples train, the rest validate. ``seed`` draws the shuffling.
    ``schedule``: an :mod:`xpnet.schedules` schedule of the lr by epoch. ``early_stopping``:
    True or an :class:`EarlyStopping`. ``progress``: bars; None: bars on a terminal or in a
    notebook, and elsewhere (output to a file or a pipe) one line per epoch on stderr, as
    Keras prints there; False: neither. ``checkpoint=PATH`` saves the run after each
    epoch and on Ctrl-C or SIGTERM, and ``resume=PATH`` goes on from such a file.
    ``drop_last`` leaves out a last batch smaller than ``batch_size``.

    ``threads``: BLAS threads on the CPU; None takes $XPNET_NUM_THREADS, or else chooses by
    timing the training steps with 1, 2, 4, ... threads up to every core (or the limit already
    set, e.g. by $OPENBLAS_NUM_THREADS), again after 1 s and then at doubling intervals up to
    every 10 s (:class:`xpnet.threads.ThreadChooser`). Fix it for bitwise-reproducible runs:
    a BLAS may round differently with another number of threads.

    ``metadata``: JSON-able facts about the run written into every checkpoint (see
    :func:`xpnet.checkpoint.save`), e.g. ``{"dataset": "mnist"}``, nested at most 31 deep.
    With ``resume``, None goes on with the file's; given, each fact the file holds must be
    the same (a fact it lacks is added), but for OPTIONS_METADATA, which is replaced.

    Calling fit again goes on training the network. An optimizer passed as an object keeps
    its state (moments, step count) from call to call, and belongs to this network (another
    network's fit refuses it); a name makes a new one each call. A fixed schedule starts again
    at its epoch 0; a plateau rule goes on from its reduced lr (PyTorch's does too). A
    schedule leaves the optimizer's lr at its last epoch's, which a later fit without one
    trains at, as after PyTorch's schedulers. The shuffling goes on with the stream of the
    last fit if it had the same ``seed`` (a whole number), so that a loop of
    ``fit(epochs=1)`` draws a new order each epoch, as one ``fit(epochs=N)`` does; another
    seed, a new network or ``net.initialize()`` starts it afresh.
    """
    epochs, batch_size = _check_options(epochs, batch_size, validation_split, validation_data,
                                        schedule, checkpoint is not None or resume is not None)
    shuffle, drop_last = flag("shuffle", shuffle), flag("drop_last", drop_last)  # ("no": true)
    if progress is not None:  # before a resume loads weights, whatever $TQDM_DISABLE says
        progress = flag("progress", progress)
    if checkpoint is not None:  # refused now, not after the first epoch
        ckpt.check_savable(net)
        for path, kind, is_kind in ((checkpoint, "an xpnet checkpoint", ckpt.is_checkpoint), (
                history_path(checkpoint), "a training history", is_history_file)):
            check_writable(path)
            if replaces_another(path, is_kind):
                raise ValueError(f"{path} exists and is not {kind}: fit(checkpoint=) replaces "
                                 "only the files it writes; give another checkpoint path, or "
                                 "remove that file first")
        check_history_not_shared(checkpoint)
    threads = threads_asked(threads)
    ckpt.check_metadata(metadata)
    named = isinstance(optimizer, str)  # (with its default lr, which a schedule replaces)
    optimizer, early_stopping = _checked_run(optimizer, early_stopping, seed, recorded=(
        checkpoint is not None or resume is not None))
    if resume is None:  # (a resumed run's optimizer state and lr are the file's)
        optimizer._check_owner(net.theta, adopt=False)  # (refused before anything changes)
        if not named:
            _check_lr(optimizer, schedule, epochs)
    train = _Data(net, X, y)
    # (the ignore: _check_options made validation_data a pair, which cannot reach name)
    val = (None if validation_data is None
           else _Data(net, *validation_data, name="the validation X"))  # type: ignore[misc]
    if validation_split:
        if val is not None:
            raise ValueError("give validation_data or validation_split, not both")
        # Keras's split: floor(n (1 - split)) samples to train on, the last ones to validate
        n_train = math.floor(train.n * (1.0 - validation_split))
        if not 0 < n_train < train.n:
            raise ValueError(f"validation_split={validation_split} of "
                             f"{counted(train.n, 'sample')} leaves no training or no validation "
                             "samples")
        train, val = train.split(n_train)
    _check_accuracy_watched(early_stopping, schedule, train, val)
    n_batches = train.n // batch_size if drop_last else math.ceil(train.n / batch_size)
    if n_batches == 0:
        raise ValueError(f"batch_size={batch_size} with drop_last=True leaves no batch of "
                         f"the {counted(train.n, 'sample')}")

    loop = _Loop(net, optimizer, schedule, early_stopping, val is not None, seed, metadata)
    # what a resumed run must share with the saved one to continue it
    settings = _run_settings(batch_size, shuffle, seed, drop_last, early_stopping) | {
        "training_samples": train.n, "validation_samples": 0 if val is None else val.n}
    history, start_epoch = History(), 0
    if resume is not None:
        # (the cast: resume returns None only with check_only)
        start_epoch, history = cast(tuple[int, History],
                                    loop.resume(resume, settings, n_batches, epochs))
        if history.finished:
            (log.warning if epochs > len(history) else log.info)(
                "%s holds a run that early stopping ended after epoch %d: nothing to resume "
                "(the network now holds its weights; to train on, start a new run from them)",
                resume, len(history))
            if checkpoint is not None:  # (another file than resume's gets the run too)
                loop.save(checkpoint, history, settings, epochs_done=len(history))
            return history
    elif early_stopping:
        early_stopping.reset()
    show = _show_progress(progress)
    # no terminal for bars (a file, a pipe, a batch job): a line per epoch, as Keras prints
    # there, unless the log shows its own (the command line's) or the user chose silence
    lines = progress is None and not show and not _tqdm_disabled() and \
        not log.isEnabledFor(logging.INFO)
    console = _console_loggers() or [log]
    # (NumPy's overflow warnings would only repeat what DivergenceError says, without the step)
    with net.backend.float_warnings_silenced(), \
            net.backend.cpu_threads() as (set_threads, thread_limit), \
            stop_on_signals() as interrupt, logging_redirect_tqdm(console), tqdm(
            total=epochs, initial=start_epoch, desc="epochs", unit="epoch", disable=not show,
            dynamic_ncols=True) as epoch_bar:
        if set_threads is not None:  # NumPy
            if threads is not None and threads > available_cores():  # (an epoch of 784-100-10:
                # 0.1 s on 2 cores, 5-8 s with 4 threads, 44 s with 1000)
                log.warning("%d BLAS threads asked for, on %s: using %d (more would wait "
                            "for each other, each product many times slower)", threads,
                            counted(available_cores(), "core"), available_cores())
                threads = available_cores()
            loop.threads = _thread_chooser(net, batch_size, threads, set_threads, thread_limit)
        elif threads is not None and net.backend.uses_cpu_blas and not _UNSET_THREADS_TOLD:
            _UNSET_THREADS_TOLD.append(threads)  # (once a process: a loop of fits would repeat it)
            log.warning("BLAS threads: %d asked for, but threadpoolctl finds no BLAS behind "
                        "this NumPy that it can set (Apple's Accelerate, for one), or is not "
                        "installed: threads= and $XPNET_NUM_THREADS have no effect here", threads)
        for epoch in range(start_epoch, epochs):
            row = loop.epoch(epoch, train, batch_size, n_batches, shuffle, interrupt, show)
            if interrupt["signal"] and loop.steps_done < n_batches:
                # a partial epoch: saved so that resume finishes it
                history.interrupted = history.partial_epoch = True
                if checkpoint is not None:
                    loop.save(checkpoint, history, settings, epochs_done=epoch)
                history.rows.append(row)
                log.info("interrupted in epoch %d after %d of %d batches", epoch + 1,
                         loop.steps_done, n_batches)
                break
            if val is not None:
                row["val_loss"], row["val_accuracy"] = _evaluate(net, val, 1024)
            history.rows.append(row)
            epoch_bar.update(1)
            epoch_bar.set_postfix(_postfix(row), refresh=True)
            line = f"epoch {epoch + 1}/{epochs}: " + ", ".join(
                f"{k}={v:.4g}" for k, v in _postfix(row).items())
            log.info("%s", line)
            if lines:
                print(line, file=sys.stderr, flush=True)
            history.stopped_early = loop.end_of_epoch(row, epoch)
            if checkpoint is not None:
                loop.save(checkpoint, history, settings, epochs_done=epoch + 1)
            if history.stopped_early:
                break
            if interrupt["signal"] and epoch + 1 < epochs:  # in the last batch or validation
                history.interrupted = True
                log.info("interrupted after epoch %d", epoch + 1)
                break
        if loop.threads is not None:
            history.threads = loop.threads.chosen
            if threads is None:  # the next fit of this work goes on from it
                _THREAD_CHOOSERS.setdefault(net, {})[batch_size] = loop.threads
        if not history.interrupted:  # (a signal now waits for the last checkpoint to be written)
            last_theta = loop.restore_best()
            # a run that early stopping ended is finished; one that used its epochs can be
            # resumed with more of them
            history.finished = history.stopped_early
            if checkpoint is not None and (last_theta is not None or history.finished
                                           or start_epoch >= epochs):  # (no epoch saved it)
                # the file holds what the network now holds, and what a longer run goes on from
                loop.save(checkpoint, history, settings, epochs_done=len(history),
                          resume_theta=None if history.finished else last_theta)
    history.stop_signal = interrupt["signal"]  # (the last epoch's end too: the caller is told)
    return history


def _checked_counts(epochs, batch_size) -> tuple[int, int]:
    """(epochs, batch_size) as Python ints, checked."""
    return integer_at_least("epochs", epochs, 0), integer_at_least("batch_size", batch_size, 1)


def _checked_run(optimizer, early_stopping, seed,
                 recorded: bool) -> tuple[Optimizer, EarlyStopping | Literal[False] | None]:
    """fit's ``optimizer`` (a name made into an Optimizer) and ``early_stopping`` (True made
    into an EarlyStopping), checked, and its seed, which a checkpoint (``recorded``) keeps."""
    if recorded and seed is not None and whole_number(seed) is None:
        raise TypeError(f"with checkpoint= or resume=, seed must be a whole number or None "
                        f"(a checkpoint records it), got {seed!r}")
    if isinstance(optimizer, str):
        optimizer = get_optimizer(optimizer)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a name such as 'adam' or an xpnet.optim "
                        f"optimizer, got {optimizer!r}" + (
                            " (a class: make one, e.g. Adam(lr=1e-3))"
                            if isinstance(optimizer, type) else ""))
    if early_stopping is True:
        early_stopping = EarlyStopping()
    if not (early_stopping is None or early_stopping is False
            or isinstance(early_stopping, EarlyStopping)):
        raise TypeError(f"early_stopping must be True, False, None or an EarlyStopping such as "
                        f"EarlyStopping(patience=5), got {early_stopping!r}")
    if early_stopping:
        early_stopping.check()  # (an option set since it was made)
    return optimizer, early_stopping


def _check_accuracy_watched(early_stopping, schedule, train: _Data, val: _Data | None) -> None:
    """ValueError, before any epoch, where early stopping or a plateau schedule in mode "max"
    would watch an accuracy the data have none of (targets that are no class labels: a
    regression). As :meth:`_Loop.end_of_epoch` reads them, a val_ monitor and the schedule
    watch the validation data, or the training data without validation data."""
    watchers = []
    if early_stopping and early_stopping.monitor.endswith("accuracy"):
        watchers.append((f"early stopping's monitor={early_stopping.monitor!r}",
                         early_stopping.monitor.startswith("val_"),
                         f"monitor={early_stopping.monitor.replace('accuracy', 'loss')!r}"))
    if getattr(schedule, "mode", "min") == "max":
        watchers.append((f"the schedule {type(schedule).__name__} in mode 'max'", True,
                         "mode='min'"))
    for watcher, validation, instead in watchers:
        watched = val if validation and val is not None else train
        if watched.labels is None:
            which = "validation" if watched is val else "training"
            raise ValueError(
                f"{watcher} watches the {which} accuracy, but the {which} targets are "
                f"{NO_LABELS}, which have no accuracy: watch the loss ({instead})")


def _check_lr(optimizer: Optimizer, schedule, epochs: int) -> None:
    """Warn of an lr given to an optimizer that does nothing: 0 without a schedule, or, in a
    new optimizer, one that a schedule replaces (a schedule sets the lr from its own, while
    torch's schedulers scale the optimizer's: an lr sweep written the torch way would train
    each run alike)."""
    if not epochs:
        return
    if (optimizer.lr if schedule is None else getattr(schedule, "lr", None)) == 0:
        log.warning("lr is 0: no step changes the weights; give an lr > 0")
    elif schedule is not None and optimizer.t == 0 and optimizer.lr != _default_lr(optimizer) \
            and getattr(schedule, "lr", optimizer.lr) != optimizer.lr:
        log.warning("the schedule sets the lr of every epoch from its own lr=%g: the "
                    "optimizer's lr=%g is not used; give the lr to the schedule, "
                    "get_schedule(..., lr=...)", schedule.lr, optimizer.lr)


def _default_lr(optimizer: Optimizer):
    """The lr an optimizer of this class gets when none is given (which a schedule's replaces
    as the user meant: no warning)."""
    parameter = inspect.signature(type(optimizer).__init__).parameters.get("lr")
    return None if parameter is None else parameter.default


def _check_schedule(schedule, recorded: bool) -> None:
    """TypeError unless ``schedule`` is None or has the methods fit calls: lr_at and update
    each epoch, and where a checkpoint keeps the run (``recorded``), state_dict and
    load_state_dict (a schedule of the user's own without them failed after the first
    epoch's training); then an xpnet schedule's hyperparameters are checked."""
    if schedule is None:
        return
    needed = SCHEDULE_METHODS + (RECORDED_SCHEDULE_METHODS if recorded else ())
    missing = [name for name in needed if not callable(getattr(schedule, name, None))]
    if isinstance(schedule, type) or missing:
        raise TypeError(f"schedule must be an xpnet.schedules schedule, e.g. "
                        f"get_schedule('cosine', lr=0.1, t_max=epochs), got {schedule!r:.80}" + (
                            " (a class: make one)" if isinstance(schedule, type) else
                            f", which has no {', '.join(missing)} (a schedule of your own: a "
                            f"subclass of xpnet.schedules.Schedule, giving its _lr(index))"))
    if isinstance(schedule, Schedule):
        schedule.check()  # (a hyperparameter set since it was made)


def _check_options(epochs, batch_size, validation_split, validation_data,
                   schedule, recorded: bool) -> tuple[int, int]:
    """Check fit's options (``recorded``: a checkpoint keeps the run); (epochs, batch_size)
    as Python ints."""
    epochs, batch_size = _checked_counts(epochs, batch_size)
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real):
        raise TypeError(f"validation_split must be a number in [0, 1), the fraction of the "
                        f"samples held out (0 for none), got {validation_split!r}")
    # (the ignore: numbers.Real's stubs declare no >=, with which Python compares 0.0 <= x)
    if not 0.0 <= validation_split < 1.0:  # type: ignore[operator]
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        what = (f"a {type(validation_data).__name__} of {counted(len(validation_data), 'item')}"
                if isinstance(validation_data, (tuple, list)) else repr(validation_data)[:80])
        raise TypeError(f"validation_data must be a pair (X_val, y_val), got {what} (sample "
                        f"weights are not supported)")
    _check_schedule(schedule, recorded)
    if schedule is not None and epochs and schedule.lr_at(0) > 0 and \
            schedule.lr_at(epochs - 1) == 0:
        idle = next(epoch for epoch in range(epochs) if schedule.lr_at(epoch) == 0)
        log.warning("the schedule %r gives lr 0 from epoch %d of %d on: those epochs do not "
                    "change the weights (a cosine schedule meant to span the run needs "
                    "t_max=epochs)", schedule, idle + 1, epochs)
    return epochs, batch_size


def _thread_chooser(net, batch_size: int, threads, set_threads, thread_limit) -> ThreadChooser:
    """The BLAS threads of a fit: ``threads``, or timed among at most as many as the caller's
    settings allow, going on from the last timed fit of this network and batch size."""
    earlier = _THREAD_CHOOSERS.get(net, {}).get(batch_size)
    return ThreadChooser(set_threads, threads, cores=min(available_cores(), thread_limit),
                         after=earlier)


def _check_totals(totals, seen: int) -> None:
    """ValueError unless ``totals`` is what :meth:`_Loop.save` keeps of the first ``seen``
    samples of an epoch (its full batches before the interruption)."""
    keys = ("loss_sum", "hits", "seen", "seconds")
    if not (isinstance(totals, dict) and sorted(totals) == sorted(keys)
            and all(isinstance(totals[key], numbers.Real) and not isinstance(totals[key], bool)
                    and math.isfinite(totals[key]) for key in keys)
            and totals["seen"] == seen and whole_number(totals["hits"]) is not None
            and 0 <= totals["hits"] <= seen and totals["seconds"] >= 0):
        raise ValueError(f"its partial epoch's totals are not those of {counted(seen, 'sample')}: "
                         f"{totals!r}")


def _run_settings(batch_size, shuffle, seed, drop_last, early_stopping) -> dict:
    """What a resumed run must share with the saved one to continue it, but for its data
    (DATA_SETTINGS)."""
    return {"batch_size": batch_size, "shuffle": shuffle, "seed": seed, "drop_last": drop_last,
            "early_stopping": _stopping_settings(early_stopping)}


def _stopping_settings(early_stopping) -> dict | None:
    if not early_stopping:
        return None
    return {name: getattr(early_stopping, name)
            for name in ("monitor", "patience", "min_delta", "restore_best")}


def _stopping_differences(saved, now) -> list[str]:
    """Early stopping on in one run and off in the other, or each of its settings that
    differs ('early_stopping patience: 3 in the file, 2 now')."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return _differences("early_stopping ", saved, now)
    if saved == now:
        return []

    def shown(settings):
        if not isinstance(settings, dict):
            return "off" if settings is None else repr(settings)
        return "on (" + ", ".join(f"{key}={value!r}" for key, value in settings.items()) + ")"

    return [f"early_stopping: {shown(saved)} in the file, {shown(now)} now"]


def _shuffle_stream(net, seed):
    """The host generator of fit's permutations: for a whole-number ``seed``, the one the
    network's last fit drew from if it had that seed, so that a loop of ``fit(epochs=1)``
    draws a new order each epoch, as ``fit(epochs=N)`` does (a new or re-initialized network,
    or another seed, starts afresh); None or a Generator as they are (a fresh stream, the
    caller's own)."""
    key = whole_number(seed)
    if key is None:
        return net.backend.host_rng(seed)
    if net._shuffling is None or net._shuffling[0] != key:
        net._shuffling = (key, net.backend.host_rng(seed))
    return net._shuffling[1]


def _postfix(row: dict) -> dict:
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {k: row[k] for k in keys if row.get(k) is not None}


class _Loop:
    """The state of one fit: optimizer, schedule, early stopping, the host shuffling RNG, and
    where in an epoch a resumed run starts."""

    def __init__(self, net, optimizer, schedule, early_stopping, has_validation, seed,
                 metadata=None):
        self.net, self.optimizer, self.schedule = net, optimizer, schedule
        self.early_stopping = early_stopping
        # without validation data early stopping watches the training figure of the same name
        self.monitor = None
        if early_stopping:
            self.monitor = early_stopping.monitor
            if self.monitor.startswith("val_") and not has_validation:
                self.monitor = self.monitor[len("val_"):]
                log.warning("early stopping monitors %s: there is no validation data",
                            self.monitor)
        self.rng = _shuffle_stream(net, seed)
        self.epoch_rng_state = self.rng.bit_generator.state  # before the epoch's permutation
        self.start_step = 0  # the first batch of the next epoch (a resumed partial epoch)
        self.carried = None  # the tally totals and seconds of that epoch's earlier batches
        self.steps_done = 0  # batches done in the current epoch
        # (epoch, step) of this fit's first step with lr > 0, and the lr of its latest such
        # epoch: what a divergence blames (None: no step of this fit has changed the weights)
        self.first_update: tuple[int, int] | None = None
        self.updating_lr: float | None = None
        self.epoch_totals = None  # those of the last epoch run, for a checkpoint of it
        self.best_theta = None
        self.threads = None  # the ThreadChooser on the CPU
        self.metadata = metadata  # what fit was asked to keep in the checkpoints
        self.written = None  # (path, its file's identity) after this run's last checkpoint
        # the weights at the last moment they were known to be finite (divergence fallback)
        self.snapshot = net.xp.zeros_like(net.theta)

    def epoch(self, epoch, train, batch_size, n_batches, shuffle, interrupt, show) -> dict:
        net, xp, backend = self.net, self.net.xp, self.net.backend
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr_at(epoch)
        first, self.start_step = self.start_step, 0
        if self.optimizer.lr != 0:
            self.updating_lr = self.optimizer.lr
            self.first_update = self.first_update or (epoch, first)
        self.epoch_rng_state = self.rng.bit_generator.state
        # the lecture's random partition of D into batches B_1..B_M: a permutation of the
        # indices, cut into consecutive slices
        order = self.rng.permutation(train.n) if shuffle else range(train.n)
        order = backend.asarray(order)  # the one host -> device transfer of the epoch
        carried, self.carried = self.carried, None
        tally = _Tally(net, train, order, batch_size, n_batches, first, carried)
        self.snapshot[...] = net.theta
        start = time.perf_counter()
        next_sync, self.steps_done = start + SYNC_SECONDS, first
        with tqdm(total=n_batches, initial=first, desc=f"epoch {epoch + 1}", unit="batch",
                  leave=False, disable=not show, dynamic_ncols=True) as bar:
            self._pause_thread_timing()  # validation, checkpoints, this set-up: not steps
            for step in range(first, n_batches):
                idx = order[step * batch_size:min((step + 1) * batch_size, train.n)]
                X, Y = xp.take(train.X, idx, axis=0), xp.take(train.Y, idx, axis=0)
                z_L, a_L = net._backprop(X, Y)  # forward and backprop: dL/dtheta in net.grad
                tally.add(z_L, a_L)
                # theta <- theta - eta dL(theta; B_s)/dtheta, or the optimizer's rule
                self.optimizer.step(net.theta, net.grad)
                self.steps_done = step + 1
                if self.threads is not None:
                    self.threads.step_done()
                if tally.full:  # counted between two steps: not in a step the chooser times
                    tally.count()
                    self._pause_thread_timing()
                if interrupt["signal"]:
                    break
                if time.perf_counter() >= next_sync:  # the only syncs mid-epoch
                    self._check_finite(tally, epoch, n_batches)
                    loss, accuracy = tally.means()
                    bar.update(self.steps_done - bar.n)
                    figures = {"loss": loss, "acc": accuracy}  # (None: no class labels)
                    bar.set_postfix(refresh=False, **{key: value for key, value in
                                                      figures.items() if value is not None})
                    next_sync = time.perf_counter() + SYNC_SECONDS
                    self._pause_thread_timing()
            self._check_finite(tally, epoch, n_batches)
            bar.update(self.steps_done - bar.n)
        backend.synchronize()
        seconds = time.perf_counter() - start + (carried["seconds"] if carried else 0.0)
        totals = self.epoch_totals = tally.totals() | {"seconds": seconds}
        seen = totals["seen"]
        return {"epoch": epoch + 1, "loss": totals["loss_sum"] / seen,
                "accuracy": _accuracy(train, totals["hits"], seen),
                "val_loss": None, "val_accuracy": None,
                "lr": float(self.optimizer.lr), "seconds": seconds,
                "samples_per_second": seen / seconds if seconds > 0 else math.inf}

    def _pause_thread_timing(self) -> None:
        if self.threads is not None:
            self.threads.pause()

    def _check_finite(self, tally: _Tally, epoch, n_batches):
        """Raise DivergenceError, with theta back at its last finite value and the optimizer
        reset, if a loss so far or theta is NaN or inf; else remember theta as finite."""
        xp, net = self.net.xp, self.net
        tally.count()
        batch_losses = tally.batch_losses
        loss_finite = bool(xp.all(xp.isfinite(batch_losses)))  # (a sum could overflow)
        if loss_finite and bool(xp.all(xp.isfinite(net.theta))):
            self.snapshot[...] = net.theta
            return
        net.theta[...] = self.snapshot
        self.optimizer.reset()  # its buffers hold the same NaN or inf
        lr = self.optimizer.lr if self.updating_lr is None else self.updating_lr
        cause = f"the learning rate (lr={lr:g}) is probably too large; try a smaller one."
        if loss_finite:
            what = f"the weights became NaN or inf in epoch {epoch + 1} by step {self.steps_done}"
        else:
            losses = net.backend.to_numpy(batch_losses[:self.steps_done]).tolist()
            bad = next(i for i, v in enumerate(losses) if not math.isfinite(v))
            what = f"the training loss became {losses[bad]} at epoch {epoch + 1}, step {bad + 1}"
            # a loss of weights no step of this fit has changed: the data, or earlier training
            # (an lr 0 after epochs of lr > 0, which a cosine schedule holds, is not innocent)
            if self.first_update is None or (epoch, bad) <= self.first_update:
                cause = (f"{'with lr=0' if self.first_update is None else 'before any update'}"
                         f" of this fit, so its learning rate is not the cause: the inputs or "
                         f"targets are too large for {net.dtype} arithmetic with these weights; "
                         "scale them (pixels to [0, 1], say). Or, where earlier training left "
                         "these weights (an earlier fit, a resumed run), its learning rate was "
                         "too large.")
        raise DivergenceError(
            f"{what} of {n_batches}: {cause}", epoch + 1, "The network keeps the last weights "
            "seen finite; the optimizer's state (momentum, moments) was reset.")

    def end_of_epoch(self, row: dict, epoch: int) -> bool:
        """Schedule and early-stopping bookkeeping; True when training should stop."""
        if self.schedule is not None:  # a plateau rule watches the loss, or in mode "max" (a
            # score) the accuracy, validation first; the others ignore it
            key = "accuracy" if getattr(self.schedule, "mode", "min") == "max" else "loss"
            value = row["val_" + key]
            self.schedule.update(value if value is not None else row[key])
        es = self.early_stopping
        if not es:
            return False
        if es.update(row[self.monitor], epoch) and es.restore_best:
            if self.best_theta is None:
                self.best_theta = self.net.xp.zeros_like(self.net.theta)
            self.best_theta[...] = self.net.theta
        return es.should_stop

    def restore_best(self):
        """Give the network the best epoch's weights, if early stopping keeps them and they
        are not the current ones; the weights they replace (in the divergence snapshot's
        buffer: valid until another epoch runs), or None if it did not."""
        es = self.early_stopping
        if not es or not es.restore_best or self.best_theta is None:
            return None
        if bool(self.net.xp.all(self.net.theta == self.best_theta)):
            return None
        last = self.snapshot  # (free once training is over: no new copy of theta)
        last[...] = self.net.theta
        self.net.theta[...] = self.best_theta
        log.info("restored the weights of epoch %d (%s=%.4g)", es.best_epoch + 1,
                 self.monitor, es.best)
        return last

    def save(self, path, history: History, settings: dict, epochs_done: int,
             resume_theta=None) -> None:
        """Write the run to ``path`` (and its history beside it): after ``epochs_done`` whole
        epochs and, when interrupted, ``steps_done`` batches into the next (with the RNG as
        it was when that epoch drew its permutation, and the totals of those batches).
        ``resume_theta``: the weights a longer run goes on from, when the network holds an
        earlier epoch's restored weights."""
        partial = history.partial_epoch
        training = {
            "epoch": epochs_done, "step": self.steps_done if partial else 0,
            "rng": self.epoch_rng_state if partial else self.rng.bit_generator.state,
            "history": history._columns(), "settings": settings, "finished": history.finished}
        if partial:
            training["partial_epoch"] = self.epoch_totals
        if resume_theta is not None:
            training["resume_theta"] = self.net.backend.to_numpy(resume_theta)
        if self.early_stopping:
            training["early_stopping"] = self.early_stopping.state_dict()
            if self.best_theta is not None:
                training["best_theta"] = self.net.backend.to_numpy(self.best_theta)
        if self.written is not None and self.written[0] == path and \
                _identity(path) != self.written[1]:
            raise ckpt.CheckpointError(
                f"{path} was replaced since this run last saved it: does another run save to "
                "the same file? This run stops here rather than replace that one's checkpoint: "
                "give each run its own file")
        ckpt.save(path, self.net, optimizer=self.optimizer, schedule=self.schedule,
                  training=training, metadata=self.metadata)
        history._write(history_path(path))  # (checked before the first epoch)
        self.written = (path, _identity(path))

    def resume(self, path, settings: dict, n_batches: int | None, epochs: int,
               check_only: bool = False) -> tuple[int, History] | None:
        """Restore theta, optimizer, schedule, RNG and early stopping from a checkpoint made
        with the same options; everything is checked before anything changes. ``check_only``:
        check, and change nothing. ``n_batches`` None: without the data, whose batches are
        then left unchecked, and its settings (the numbers of samples) unless given."""
        header, arrays = ckpt.read(path)
        if not header.get("training"):  # (what xpnet.save writes: a network, not a run)
            raise ckpt.CheckpointError(
                f"{path} holds a network but no training run to resume (net.save and "
                f"xpnet.save keep no epoch, optimizer state or history; fit(checkpoint=) "
                f"does): to train on from its weights, fit xpnet.load({str(path)!r}) "
                f"without resume=")
        damaged = f"{path} is not a checkpoint of a training run, or it is damaged"
        try:
            training = ckpt.training_state(header, arrays)
            optimizer_state = ckpt.optimizer_state(header, arrays)
            history = History.from_dict(training["history"])
            epochs_done, step, rng = training["epoch"], training["step"], training["rng"]
            finished = training["finished"]
            saved_settings, network = training["settings"], header["network"]
        except KeyError as e:
            raise ckpt.CheckpointError(f"{damaged} (no {e} in its training state)") from None
        except (TypeError, IndexError, AttributeError, ValueError, OverflowError) as e:
            raise ckpt.CheckpointError(f"{damaged} (its training state is malformed: "
                                       f"{e})") from None
        malformed = _malformed_run_state(epochs_done, step, saved_settings,
                                         {*settings, *DATA_SETTINGS}, header.get("schedule"),
                                         history, finished)
        if malformed:
            raise ckpt.CheckpointError(f"{damaged} ({malformed})")
        if step and "partial_epoch" not in training:
            raise ckpt.CheckpointError(f"{damaged} (it stopped after batch {step} of an epoch, "
                                       f"but has no 'partial_epoch', the totals of those "
                                       f"batches)")
        if saved_settings["early_stopping"] and "early_stopping" not in training:
            raise ckpt.CheckpointError(f"{damaged} (it records a run with early stopping, but "
                                       f"has no 'early_stopping', the state of it)")
        try:  # on a scratch generator: a bad state must not change self.rng
            type(self.rng.bit_generator)().state = rng
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise ckpt.CheckpointError(f"{damaged} (its random generator state: {e})") from None
        ckpt.architecture(header, path)  # (damage, before it is told as another network)
        saved, ours = _architecture(network), _architecture(self.net.config())
        if saved != ours:
            raise ckpt.CheckpointError(f"{path} holds a network {saved}, but this one is "
                                       f"{ours}; build the network with the same architecture")
        ckpt.check_theta(arrays["theta"], self.net.sizes, f"the theta in {path}")
        # (the numbers of samples compared only where they are given: check_resume without
        # the data leaves them to fit)
        saved_settings = {key: value for key, value in saved_settings.items()
                          if key in settings or key not in DATA_SETTINGS}
        ours = dict(settings)
        stopping = saved_settings.pop("early_stopping"), ours.pop("early_stopping")
        differences = _differences("", saved_settings, ours) + _stopping_differences(*stopping)
        saved_metadata = ckpt.metadata(header)
        if self.metadata is None:  # not given: the run goes on with the file's
            self.metadata = saved_metadata
        else:  # e.g. another dataset would not continue the run; a fact the file lacks (a
            # run that fit saved without metadata) is not another one: the run keeps it now
            facts = {key: value for key, value in saved_metadata.items()
                     if key != OPTIONS_METADATA}
            shared = {key: value for key, value in self.metadata.items() if key in facts}
            differences += _differences("metadata ", facts, shared)
        if optimizer_state is not None:
            differences += self._optimizer_differences(optimizer_state, damaged)
        saved_schedule = (header.get("schedule") or {}).get("name")
        our_schedule = type(self.schedule).__name__ if self.schedule else None
        if saved_schedule != our_schedule:
            differences.append(f"schedule: {saved_schedule} in the file, {our_schedule} now")
        elif self.schedule is not None:
            differences += _differences("schedule ", header["schedule"]["state"],
                                        self.schedule.state_dict(), only="hyperparameters")
        if not differences and n_batches is not None and not 0 <= step < n_batches:
            raise ckpt.CheckpointError(f"{damaged} (it stopped after batch {step} of an epoch "
                                       f"of {counted(n_batches, 'batch', 'batches')})")
        if step and epochs <= epochs_done:
            differences.append(f"epochs: it stopped in epoch {epochs_done + 1}, after "
                               f"{counted(step, 'batch', 'batches')}, so resuming needs epochs "
                               f">= {epochs_done + 1}, not {epochs}")
        elif epochs < epochs_done and not finished:  # (finished: nothing to do)
            differences.append(f"epochs: it holds {counted(epochs_done, 'epoch')}, so resuming "
                               f"needs epochs >= {epochs_done} (the total), not {epochs}")
        if differences:
            raise ckpt.CheckpointError(
                f"{path} was saved by a run with other options, so resuming would not continue "
                f"it: {'; '.join(differences)}. {RESUME_ADVICE}, or "
                f"start a new run from its weights: xpnet.load({str(path)!r}) gives its "
                f"network, to fit with the new options.")
        self._check_states(damaged, optimizer_state, header, training, settings["batch_size"])
        if check_only:
            return None
        # the last epoch's weights, where theta holds the restored best ones
        self.net.set_theta(training.get("resume_theta", arrays["theta"]))
        if optimizer_state is not None:
            self.optimizer.load_state_dict(optimizer_state)
        if self.schedule is not None and header.get("schedule"):
            self.schedule.load_state_dict(header["schedule"]["state"])
        self.rng.bit_generator.state = rng
        self.start_step = step
        # the totals of the batches run of the epoch it stopped in (at an epoch's end: none)
        self.carried = training["partial_epoch"] if step else None
        if self.early_stopping:
            self.early_stopping.load_state_dict(training["early_stopping"])
            if "best_theta" in training:
                self.best_theta = self.net.backend.asarray(training["best_theta"],
                                                           self.net.dtype)
        history.finished = history.stopped_early = finished
        # (mid-epoch: the epoch it goes on in, as the interrupted run named it, not "after
        # epoch 0 and 297 batches")
        log.info("resumed from %s %s", path, f"in epoch {epochs_done + 1} after "
                 f"{counted(step, 'batch', 'batches')}" if step else f"after epoch {epochs_done}")
        return epochs_done, history

    def _check_states(self, damaged: str, optimizer_state, header: dict, training: dict,
                      batch_size: int):
        """Load the saved optimizer, schedule and early-stopping states into scratch copies,
        so that a damaged one is refused before :meth:`resume` changes anything."""
        def scratch(thing):  # the same class with the same hyperparameters, fresh
            return type(thing)(**{name: getattr(thing, name) for name in thing.hyperparameters})

        try:
            if optimizer_state is not None:
                scratch(self.optimizer).load_state_dict(optimizer_state)
            if self.schedule is not None and header.get("schedule"):
                scratch(self.schedule).load_state_dict(header["schedule"]["state"])
            if self.early_stopping:
                EarlyStopping().load_state_dict(training["early_stopping"])
            if self.early_stopping and "best_theta" in training:
                ckpt.check_theta(training["best_theta"], self.net.sizes, "its best_theta")
            if "resume_theta" in training:
                ckpt.check_theta(training["resume_theta"], self.net.sizes,
                                 "its resume_theta")
            if training["step"]:
                _check_totals(training["partial_epoch"], training["step"] * batch_size)
        except (KeyError, TypeError, ValueError, OverflowError) as e:
            raise ckpt.CheckpointError(f"{damaged} ({e})") from None

    def _optimizer_differences(self, saved, damaged: str) -> list[str]:
        if not (isinstance(saved, dict) and isinstance(saved.get("state", {}), dict)
                and isinstance(saved.get("hyperparameters"), dict)):
            raise ckpt.CheckpointError(f"{damaged} (its optimizer state is not a state dict)")
        if saved.get("optimizer") != type(self.optimizer).__name__:
            return [f"optimizer: {saved.get('optimizer')} in the file, "
                    f"{type(self.optimizer).__name__} now"]
        shape = tuple(self.net.theta.shape)
        bad = [name for name, a in saved.get("state", {}).items()
               if tuple(getattr(a, "shape", ())) != shape]
        if bad:
            raise ckpt.CheckpointError(f"{damaged} (its optimizer state {bad} does not match "
                                       f"theta's shape {shape})")
        try:  # (damage, before a NaN lr is told as a difference of options)
            type(self.optimizer)(**saved["hyperparameters"])
        except (TypeError, ValueError, OverflowError) as e:
            raise ckpt.CheckpointError(f"{damaged} (its optimizer's hyperparameters: "
                                       f"{e})") from None
        current = self.optimizer.state_dict()
        if self.schedule is not None:  # the schedule sets lr each epoch
            current["hyperparameters"]["lr"] = saved["hyperparameters"].get("lr")
        return _differences("", saved, current, only="hyperparameters")


def _malformed_run_state(epochs_done, step, settings, setting_names, schedule,
                         history: History, finished) -> str | None:
    """What is wrong with the shape of a checkpoint's run state, or None: the counts must be
    whole numbers >= 0, the history one row for each epoch done, numbered from 1, finished a
    bool, the settings a dict holding each of ``setting_names``, and the schedule None or
    {name, state} with a dict state holding its hyperparameters."""
    for name, count in (("epoch", epochs_done), ("step", step)):
        if whole_number(count) is None or count < 0:
            return f"its {name} count {count!r} is not a whole number >= 0"
    if len(history) != epochs_done or history["epoch"] != list(range(1, epochs_done + 1)):
        return (f"its history's epochs {history['epoch']!r:.80} are not 1 to {epochs_done}, "
                f"the epochs it records as done")
    if not isinstance(finished, bool):
        return f"its 'finished' is {finished!r:.40}, not true or false"
    if not isinstance(settings, dict):
        return "its settings are not a dict"
    missing = sorted(setting_names - set(settings))
    if missing:
        return f"its settings have no {', '.join(map(repr, missing))}"
    if finished and not settings["early_stopping"]:  # (only early stopping ends a run early)
        return "it records a run finished early, but without early stopping"
    if schedule is not None and not (
            isinstance(schedule, dict) and isinstance(schedule.get("name"), (str, type(None)))
            and isinstance(schedule.get("state"), dict)
            and isinstance(schedule["state"].get("hyperparameters"), dict)):
        return "its schedule is not {name, state} with the schedule's state dict"
    return None


def _architecture(config) -> dict:
    """A network's config without its init: the initial draw no longer matters once a resume
    has restored the weights."""
    return {key: value for key, value in config.items() if key != "init"} \
        if isinstance(config, dict) else config


def _identity(path) -> tuple | None:
    """What tells a regular file from one written over it since: inode, mtime and size
    (None for no file, or for a device or a pipe, which others may write to)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def _differences(prefix: str, saved: dict, now: dict, only: str | None = None) -> list[str]:
    """'name: A in the file, B now' for each entry whose value differs."""
    if only is not None:
        saved, now = saved.get(only, {}), now.get(only, {})

    def plain(value):  # JSON turned tuples into lists
        return list(value) if isinstance(value, (tuple, list)) else value

    return [f"{prefix}{key}: {plain(saved.get(key))!r} in the file, {plain(now.get(key))!r} now"
            for key in sorted(set(saved) | set(now))
            if plain(saved.get(key)) != plain(now.get(key))]
