"""Training: mini-batch gradient descent with the data resident on the device.

In the lecture's words: an *epoch* is one pass over all the training data; an *iteration* (a
step) is one mini-batch: forward, backprop, one optimizer update of theta.

The hot loop is built so that nothing crosses between host and device per batch:

- the training data move to the device once; each epoch only a permutation of the sample
  indices goes host -> device, and each batch is gathered on the device with ``xp.take``;
- the loss and the count of correct predictions accumulate on the device; the host reads them
  (a sync) only every ``SYNC_SECONDS`` to refresh the progress bar and check for divergence,
  and at the end of each epoch.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from . import checkpoint as ckpt
from .optim import Optimizer, get_optimizer

log = logging.getLogger("xpnet")

#: how often (seconds) the host reads the running loss: progress refresh and divergence check
SYNC_SECONDS = 0.5
#: FLOPs of the largest per-batch matrix product from which a second BLAS thread pays off
PARALLEL_GEMM_FLOPS = 2**26


class DivergenceError(FloatingPointError):
    """The training loss became NaN or inf."""


@dataclass
class EarlyStopping:
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the network ends with the best epoch's weights.

    scikit-learn's ``n_iter_no_change`` is ``patience`` and its ``tol`` is ``min_delta``
    (sklearn monitors the training loss, or the validation score with early_stopping=True).
    """

    monitor: str = "val_loss"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True
    best: float = math.inf
    best_epoch: int = -1
    wait: int = 0

    def __post_init__(self):
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {self.patience}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")

    @property
    def sign(self) -> float:
        """+1 when smaller is better (losses), -1 for accuracies."""
        return -1.0 if "acc" in self.monitor else 1.0

    def update(self, value: float, epoch: int) -> bool:
        """Record an epoch's value; True when it is the best so far."""
        if self.sign * value < self.sign * self.best - self.min_delta or self.best_epoch < 0:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.wait >= self.patience

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds",
                "samples_per_second")


@dataclass
class History:
    """One row per epoch: training loss and accuracy, validation loss and accuracy (None
    without validation data), lr, seconds and samples per second of the training pass."""

    rows: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    interrupted: bool = False

    def __getitem__(self, key: str) -> list:
        return [row[key] for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict:
        """Column lists, Keras-style: {"loss": [...], "val_loss": [...], ...}."""
        return {key: self[key] for key in HISTORY_KEYS}

    def save(self, path) -> Path:
        """Write the history as JSON, atomically."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1).encode()
        ckpt.atomic_write(path, lambda f: f.write(text))
        return path

    @classmethod
    def from_dict(cls, columns: dict) -> History:
        n = len(columns["epoch"])
        return cls([{key: columns[key][i] for key in HISTORY_KEYS} for i in range(n)])


class _Data:
    """X, the target rows Y and the class labels of a data set, on the device, checked once."""

    def __init__(self, net, X, y):
        self.X = net._check_X(X)
        self.Y = net._targets(y, self.X.shape[0])
        self.labels = net.xp.argmax(self.Y, axis=1)
        self.n = self.X.shape[0]

    def split(self, n_first: int):
        """The first n_first samples and the rest (device views, no copy)."""
        first, rest = object.__new__(_Data), object.__new__(_Data)
        for part, sl in ((first, slice(0, n_first)), (rest, slice(n_first, self.n))):
            part.X, part.Y, part.labels = self.X[sl, ...], self.Y[sl, ...], self.labels[sl]
            part.n = part.X.shape[0]
        return first, rest


def _hits(xp, output, labels):
    """The number of rows whose argmax is the label, as a device scalar."""
    return xp.count_nonzero(xp.argmax(output, axis=1) == labels)


def _evaluate(net, data: _Data, batch_size: int):
    """Mean loss and accuracy of ``data``, computed in batches on the device; one sync."""
    xp = net.xp
    loss_sum = hits = 0
    for start in range(0, data.n, batch_size):
        stop = min(start + batch_size, data.n)
        zs, activations = net._feedforward(data.X[start:stop, ...])
        loss_sum = loss_sum + net.loss.value(xp, zs[-1], activations[-1],
                                             data.Y[start:stop, ...]) * (stop - start)
        hits = hits + _hits(xp, activations[-1], data.labels[start:stop])
    return float(loss_sum) / data.n, float(hits) / data.n


def evaluate(net, X, y, batch_size: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) of the network on X, y, computed in batches."""
    return _evaluate(net, _Data(net, X, y), batch_size)


def _show_progress(progress: bool | None) -> bool:
    if os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false"):
        return False
    if progress is None:
        return sys.stderr.isatty() or "ipykernel" in sys.modules
    return bool(progress)


@contextmanager
def _stop_on_interrupt():
    """Turn the first Ctrl-C into a request to stop after the current batch (a second one
    interrupts at once)."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum, frame):
        if request["stop"]:
            raise KeyboardInterrupt
        request["stop"] = True
        log.warning("interrupted: stopping after the current batch (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)


def fit(net, X, y, *, optimizer: str | Optimizer = "adam", epochs: int = 10,
        batch_size: int = 32, validation_data=None, validation_split: float = 0.0,
        shuffle: bool = True, seed: int | None = 0, schedule=None,
        early_stopping: EarlyStopping | bool | None = None, progress: bool | None = None,
        checkpoint=None, resume=None, drop_last: bool = False,
        threads: int | None = None) -> History:
    """Train ``net`` by mini-batch gradient descent; see :meth:`xpnet.Network.fit`.

    ``threads``: BLAS threads on the CPU; None takes $XPNET_NUM_THREADS or
    :func:`choose_threads`'s choice for this network and batch size.
    """
    if epochs < 0 or batch_size < 1:
        raise ValueError(f"epochs must be >= 0 and batch_size >= 1, got {epochs}, {batch_size}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if isinstance(optimizer, str):
        optimizer = get_optimizer(optimizer)
    if early_stopping is True:
        early_stopping = EarlyStopping()
    train = _Data(net, X, y)
    val = None if validation_data is None else _Data(net, *validation_data)
    if validation_split:
        if val is not None:
            raise ValueError("give validation_data or validation_split, not both")
        n_val = int(round(train.n * validation_split))
        if not 0 < n_val < train.n:
            raise ValueError(f"validation_split={validation_split} of {train.n} samples leaves "
                             "no training or no validation samples")
        train, val = train.split(train.n - n_val)  # Keras's choice: the last samples
    if early_stopping and early_stopping.monitor.startswith("val_") and val is None:
        early_stopping.monitor = early_stopping.monitor[len("val_"):]
        log.warning("early stopping monitors %s: no validation data", early_stopping.monitor)
    n_batches = train.n // batch_size if drop_last else math.ceil(train.n / batch_size)
    if n_batches == 0:
        raise ValueError(f"batch_size={batch_size} with drop_last leaves no batch of "
                         f"{train.n} samples")

    loop = _Loop(net, optimizer, schedule, early_stopping, seed)
    history = History()
    start_epoch = 0
    if resume is not None:
        start_epoch, history = loop.resume(resume)
    settings = {"batch_size": batch_size, "shuffle": shuffle, "seed": seed}
    show = _show_progress(progress)
    if threads is None:
        threads = int(os.environ.get("XPNET_NUM_THREADS") or choose_threads(net, batch_size))
    with net.backend.cpu_threads(threads), _stop_on_interrupt() as interrupt, \
            logging_redirect_tqdm(loggers=[log]), tqdm(
            total=epochs, initial=start_epoch, desc="epochs", unit="epoch", disable=not show,
            dynamic_ncols=True) as epoch_bar:
        for epoch in range(start_epoch, epochs):
            row = loop.epoch(epoch, train, batch_size, n_batches, shuffle, interrupt, show)
            if val is not None:
                row["val_loss"], row["val_accuracy"] = _evaluate(net, val, 1024)
            history.rows.append(row)
            epoch_bar.update(1)
            epoch_bar.set_postfix(_postfix(row), refresh=True)
            log.info("epoch %d/%d: %s", epoch + 1, epochs,
                     ", ".join(f"{k}={v:.4g}" for k, v in _postfix(row).items()))
            if interrupt["stop"]:
                history.interrupted = True
            elif loop.end_of_epoch(row, epoch):
                history.stopped_early = True
            if checkpoint is not None:
                loop.save(checkpoint, epoch + 1, history, settings)
            if history.interrupted or history.stopped_early:
                break
    if early_stopping and early_stopping.restore_best and loop.best_theta is not None:
        net.theta[...] = loop.best_theta
        log.info("restored the weights of epoch %d (%s=%.4g)", early_stopping.best_epoch + 1,
                 early_stopping.monitor, early_stopping.best)
    return history


def choose_threads(net, batch_size: int) -> int:
    """BLAS threads for training ``net``: 1 while the largest per-batch matrix product is
    small (measured on 2-core x86-64: a second thread does not speed up a 784-100-10 network
    at batch 128, and costs several times when another process holds the second core);
    else every core this process may use."""
    largest = max(n_in * n_out for n_in, n_out in zip(net.sizes[:-1], net.sizes[1:]))
    if 2 * batch_size * largest < PARALLEL_GEMM_FLOPS:
        return 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _postfix(row: dict) -> dict:
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    return {k: row[k] for k in keys if row.get(k) is not None}


class _Loop:
    """The state of one fit: optimizer, schedule, early stopping, the host shuffling RNG."""

    def __init__(self, net, optimizer, schedule, early_stopping, seed):
        self.net, self.optimizer, self.schedule = net, optimizer, schedule
        self.early_stopping = early_stopping
        self.rng = net.backend.host_rng(seed)
        self.best_theta = None
        # the weights at the last moment they were known to be finite (divergence fallback)
        self.snapshot = net.xp.zeros_like(net.theta)

    def epoch(self, epoch, train, batch_size, n_batches, shuffle, interrupt, show) -> dict:
        net, xp, backend = self.net, self.net.xp, self.net.backend
        if self.schedule is not None:
            self.optimizer.lr = self.schedule.lr_at(epoch)
        order = self.rng.permutation(train.n) if shuffle else range(train.n)
        order = backend.asarray(order)  # the one host -> device transfer of the epoch
        batch_losses = backend.zeros(n_batches, net.dtype)  # the mean loss of each batch
        hits = xp.zeros_like(train.labels[0])
        self.snapshot[...] = net.theta
        start = time.perf_counter()
        next_sync, steps = start + SYNC_SECONDS, 0
        with tqdm(total=n_batches, desc=f"epoch {epoch + 1}", unit="batch", leave=False,
                  disable=not show, dynamic_ncols=True) as bar:
            for step in range(n_batches):
                idx = order[step * batch_size:min((step + 1) * batch_size, train.n)]
                X, Y = xp.take(train.X, idx, axis=0), xp.take(train.Y, idx, axis=0)
                loss, output = net._backprop(X, Y)
                self.optimizer.step(net.theta, net.grad)
                batch_losses[step] = loss
                hits += _hits(xp, output, xp.take(train.labels, idx, axis=0))
                steps = step + 1
                if interrupt["stop"]:
                    break
                if time.perf_counter() >= next_sync:  # the only syncs mid-epoch
                    self._check_finite(batch_losses, epoch, steps, n_batches)
                    seen = min(steps * batch_size, train.n)
                    bar.update(steps - bar.n)
                    bar.set_postfix(loss=self._mean_loss(batch_losses, steps, batch_size, seen),
                                    acc=float(hits) / seen, refresh=False)
                    next_sync = time.perf_counter() + SYNC_SECONDS
            self._check_finite(batch_losses, epoch, steps, n_batches)
            bar.update(steps - bar.n)
        backend.synchronize()
        seconds = time.perf_counter() - start
        seen = min(steps * batch_size, train.n)
        return {"epoch": epoch + 1, "loss": self._mean_loss(batch_losses, steps, batch_size, seen),
                "accuracy": float(hits) / seen, "val_loss": None, "val_accuracy": None,
                "lr": float(self.optimizer.lr), "seconds": seconds,
                "samples_per_second": seen / seconds if seconds > 0 else math.inf}

    def _mean_loss(self, batch_losses, steps, batch_size, seen) -> float:
        """The mean loss over the samples seen, from the mean of each batch: every batch has
        batch_size samples but the last one, which has the rest."""
        full = float(self.net.xp.sum(batch_losses[:steps - 1]))
        last = float(batch_losses[steps - 1])
        return (full * batch_size + last * (seen - (steps - 1) * batch_size)) / seen

    def _check_finite(self, batch_losses, epoch, steps, n_batches):
        """Raise DivergenceError, with theta back at its last finite value, if a loss so far
        is NaN or inf; else remember the current theta as finite."""
        xp, net = self.net.xp, self.net
        if bool(xp.isfinite(xp.sum(batch_losses))) and bool(xp.all(xp.isfinite(net.theta))):
            self.snapshot[...] = net.theta
            return
        losses = net.backend.to_numpy(batch_losses[:steps])
        bad = next((i for i, v in enumerate(losses.tolist()) if not math.isfinite(v)), steps - 1)
        net.theta[...] = self.snapshot
        raise DivergenceError(
            f"the training loss became {losses[bad] if bad < len(losses) else 'inf'} at epoch "
            f"{epoch + 1}, step {bad + 1} of {n_batches}: the learning rate "
            f"(lr={self.optimizer.lr:g}) is probably too large; try a smaller one. The network "
            "keeps the last weights seen finite.")

    def end_of_epoch(self, row: dict, epoch: int) -> bool:
        """Schedule and early-stopping bookkeeping; True when training should stop."""
        if self.schedule is not None:  # ReduceOnPlateau watches the loss; others ignore it
            self.schedule.update(row["val_loss"] if row["val_loss"] is not None else row["loss"])
        es = self.early_stopping
        if not es:
            return False
        if es.monitor not in row or row[es.monitor] is None:
            raise ValueError(f"early stopping monitors {es.monitor!r}, which is not one of "
                             f"{[k for k, v in row.items() if v is not None]}")
        if es.update(row[es.monitor], epoch) and es.restore_best:
            if self.best_theta is None:
                self.best_theta = self.net.xp.zeros_like(self.net.theta)
            self.best_theta[...] = self.net.theta
        return es.should_stop

    def save(self, path, epochs_done: int, history: History, settings: dict) -> None:
        training = {"epoch": epochs_done, "rng": self.rng.bit_generator.state,
                    "history": history.to_dict(), "settings": settings,
                    "interrupted": history.interrupted}
        if self.early_stopping:
            training["early_stopping"] = self.early_stopping.state_dict()
            if self.best_theta is not None:
                training["best_theta"] = self.net.backend.to_numpy(self.best_theta)
        ckpt.save(path, self.net, optimizer=self.optimizer, schedule=self.schedule,
                  training=training)
        history.save(Path(path).with_suffix(".history.json"))

    def resume(self, path) -> tuple[int, History]:
        """Restore theta, optimizer, schedule, RNG and early stopping from a checkpoint."""
        header, arrays = ckpt.read(path)
        if header["network"] != self.net.config():
            raise ckpt.CheckpointError(
                f"{path} holds a network {header['network']}, but this one is "
                f"{self.net.config()}; build the network with the same architecture")
        ckpt.check_theta(arrays["theta"], self.net)
        self.net.set_theta(arrays["theta"])
        training = ckpt.training_state(header, arrays)
        state = ckpt.optimizer_state(header, arrays)
        if state is not None:
            self.optimizer.load_state_dict(state)
        if self.schedule is not None and header.get("schedule"):
            self.schedule.load_state_dict(header["schedule"]["state"])
        self.rng.bit_generator.state = training["rng"]
        if self.early_stopping and "early_stopping" in training:
            self.early_stopping.load_state_dict(training["early_stopping"])
            if "best_theta" in training:
                self.best_theta = self.net.backend.asarray(training["best_theta"],
                                                           self.net.dtype)
        log.info("resumed from %s after epoch %d", path, training["epoch"])
        return training["epoch"], History.from_dict(training["history"])
