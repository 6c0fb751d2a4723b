"""Draw the paths of SGD, momentum, Nesterov, Adagrad, RMSprop and Adam on a ravine and on
Rosenbrock's function, side by side, made by xpnet's own optimizers -> docs/optimizer_paths.png

    python scripts/optimizer_paths.py [--out docs/optimizer_paths.png]
    python scripts/optimizer_paths.py --counts [--horizon 20000]   # the legend's step counts

Each optimizer runs on a 2-element theta with the analytic gradient. The surfaces, start points
and settings here are also the ones tests/test_optim.py checks for convergence. The legend
gives, for each optimizer, the step from which it stays within TOL of the minimum up to the
surface's horizon (3,000 steps on the ravine, 20,000 on Rosenbrock; ``--horizon`` sets both):
a longer run can leave the minimum again (Adam on the ravine does from step 7,558 on).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xpnet.files import atomic_write
from xpnet.optim import SGD, Adagrad, Adam, Optimizer, RMSprop
from xpnet.plotting import PLOT_INSTALL_HINT


@dataclass(frozen=True)
class Surface:
    title: str
    f: Callable  # f(x, y), elementwise on grids
    grad: Callable  # the gradient [df/dx, df/dy] at one point
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    steps: int  # steps drawn
    horizon: int  # steps run to count the steps to reach the minimum
    settings: dict[str, Callable[[], Optimizer]]  # label -> a new optimizer


def ravine(x, y):
    """An elongated quadratic: 100 times steeper across (y) than along (x) the valley."""
    return 0.5 * x**2 + 50.0 * y**2


def ravine_grad(x, y):
    return np.array([x, 100.0 * y])


def rosenbrock(x, y):
    """Rosenbrock's banana valley, minimum f(1, 1) = 0."""
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2


def rosenbrock_grad(x, y):
    return np.array([-2.0 * (1.0 - x) - 400.0 * x * (y - x**2), 200.0 * (y - x**2)])


# Sensible settings: each lr near the largest that converges smoothly for that method and
# surface (plain SGD on the ravine at its best constant lr, about 2 / (1 + 100)). Momentum and
# Nesterov share one lr, so that their paths differ only by the look-ahead gradient: with
# gamma = 0.9, heavy-ball momentum swings across the ravine in arcs that shrink by only
# sqrt(gamma) a step for any lr at which it oscillates there ((1 -+ sqrt(gamma))^2 / 100 on
# either side: 2.6e-5 < lr < 0.038); Nesterov's look-ahead damps them.
RAVINE = Surface(
    "ravine  f = x²/2 + 50 y²", ravine, ravine_grad, start=(-8.0, 1.2), minimum=(0.0, 0.0),
    xlim=(-9.0, 1.5), ylim=(-1.8, 1.8), steps=100, horizon=3000,
    settings={
        "SGD": lambda: SGD(lr=0.019),
        "momentum": lambda: SGD(lr=0.008, momentum=0.9),
        "Nesterov": lambda: SGD(lr=0.008, momentum=0.9, nesterov=True),
        "Adagrad": lambda: Adagrad(lr=1.0),
        "RMSprop": lambda: RMSprop(lr=0.01, alpha=0.9),
        "Adam": lambda: Adam(lr=0.1),
    })

ROSENBROCK = Surface(
    "Rosenbrock  f = (1 - x)² + 100 (y - x²)²", rosenbrock, rosenbrock_grad, start=(-1.2, 1.0),
    minimum=(1.0, 1.0), xlim=(-1.6, 1.4), ylim=(-0.4, 2.2), steps=2000, horizon=20_000,
    settings={
        "SGD": lambda: SGD(lr=0.001),
        "momentum": lambda: SGD(lr=0.001, momentum=0.9),
        "Nesterov": lambda: SGD(lr=0.001, momentum=0.9, nesterov=True),
        "Adagrad": lambda: Adagrad(lr=0.5),
        "RMSprop": lambda: RMSprop(lr=0.001),
        "Adam": lambda: Adam(lr=0.01),
    })

SURFACES = (RAVINE, ROSENBROCK)
TOL = 0.01  # the legend gives the steps after which each optimizer stays this close to the minimum


def descend(optimizer: Optimizer, surface: Surface, steps: int) -> np.ndarray:
    """The points theta_0, ..., theta_steps (shape (steps + 1, 2)) visited by ``optimizer``
    from the surface's start point."""
    theta = np.array(surface.start, dtype=np.float64)
    path = [theta.copy()]
    for _ in range(steps):
        optimizer.step(theta, surface.grad(*theta))
        path.append(theta.copy())
    return np.array(path)


def steps_to_reach(path: np.ndarray, minimum, tol: float) -> int | None:
    """The first step from which ``path`` stays within ``tol`` of ``minimum`` to its end
    (None if its last point is farther)."""
    far = np.flatnonzero(np.linalg.norm(path - np.asarray(minimum), axis=1) >= tol)
    if not len(far):
        return 0
    return None if far[-1] == len(path) - 1 else int(far[-1]) + 1


def reached(path: np.ndarray, surface: Surface) -> str:
    """The legend's count: "N steps", or "> H steps" where the path of H steps ends farther
    than TOL from the minimum."""
    steps = steps_to_reach(path, surface.minimum, TOL)
    return f"{steps} steps" if steps is not None else f"> {len(path) - 1} steps"


def counts(horizons: dict[str, int]) -> None:
    """Print each optimizer's count, as the legend gives it, for each surface's horizon."""
    for surface in SURFACES:
        horizon = horizons[surface.title]
        print(f"{surface.title}, {horizon} steps: within {TOL:g} of the minimum from step")
        for label, make in surface.settings.items():
            optimizer = make()
            path = descend(optimizer, surface, horizon)
            print(f"  {label}, lr={optimizer.lr:g}: {reached(path, surface)}")


def draw(out: Path, horizons: dict[str, int]) -> None:
    try:
        import matplotlib
    except ImportError:
        sys.exit(f"drawing the figure needs matplotlib: {PLOT_INSTALL_HINT} (--counts needs "
                 "none)")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(14, 5.6), width_ratios=[1.5, 1])
    colors = plt.get_cmap("tab10").colors
    for ax, surface in zip(axes, SURFACES):
        x, y = np.meshgrid(np.linspace(*surface.xlim, 400), np.linspace(*surface.ylim, 400))
        # log-spaced levels show the floor of a valley as well as its walls
        levels = np.logspace(-2, np.log10(surface.f(x, y).max()), 20)
        ax.contour(x, y, surface.f(x, y), levels=levels, colors="0.75", linewidths=0.7)
        for color, (label, make) in zip(colors, surface.settings.items()):
            optimizer = make()
            path = descend(optimizer, surface, horizons[surface.title])
            shown = path[:surface.steps + 1]
            ax.plot(shown[:, 0], shown[:, 1], "-", color=color, lw=1.2, marker=".", ms=2.5,
                    label=f"{label}, lr={optimizer.lr:g}: {reached(path, surface)}")
        ax.plot(*surface.start, "ko", ms=6)
        ax.plot(*surface.minimum, "k*", ms=14)
        ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel="x", ylabel="y",
               title=f"{surface.title}: {surface.steps} steps")
        ax.legend(loc="lower right" if surface is RAVINE else "upper right", fontsize=9,
                  title=f"within {TOL:g} of the minimum from step", title_fontsize=9)
    fig.suptitle("xpnet.optim from one start point (dot) towards the minimum (star)")
    fig.tight_layout()
    # atomically, as xpnet writes every file (a failed or stopped drawing keeps the old
    # figure), into a new folder if need be, in the format of the name's suffix
    atomic_write(out, lambda f: fig.savefig(f, format=out.suffix[1:].lower() or "png", dpi=110))
    print(f"wrote {out}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent.parent / "docs"
                        / "optimizer_paths.png",
                        help="the image to write (default: docs/optimizer_paths.png)")
    parser.add_argument("--counts", action="store_true", help="print the legend's step counts "
                        "instead of drawing (no matplotlib needed)")
    parser.add_argument("--horizon", type=int, metavar="STEPS", help="steps each optimizer "
                        "runs for its count, on both surfaces (default: 3000 on the ravine, "
                        "20000 on Rosenbrock)")
    args = parser.parse_args(argv)
    if args.horizon is not None and args.horizon < 1:
        parser.error("--horizon must be at least 1")
    horizons = {surface.title: args.horizon or surface.horizon for surface in SURFACES}
    if args.counts:
        counts(horizons)
    else:
        draw(args.out, horizons)


if __name__ == "__main__":
    main()
