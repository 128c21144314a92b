"""MDN benchmark: the chapter's PyTorch MDN beside two classic recipes.

Prints, in one run and on the same data (the sine inverse problem
``x = 7 sin(0.75 y) + 0.5 y + ε``, 1000 training points, 2000 validation points
used only by the chapter's early stopping, 10 000 held-out points), for each recipe: training time, held-out NLL (nats)
and its gap to the true conditional density on the same held-out points, plus
the Bayes-optimal NLL of the process.

* ``chapter``: the code of ``book/en/mdn.ipynb`` itself (its ``mdn_nll``,
  ``MDN`` and ``train_mdn`` cells, and the cell that computes the true NLL,
  are executed from the notebook, so the benchmark measures exactly what
  readers see);
* ``Jung's tutorial`` (seed 001): 20 tanh units, 5 components, loss in probability space,
  Adam (lr 1e-3), 10 000 full-batch epochs;
* ``"Mixture Density Net" notebook`` (seed 002): 50 tanh units, 24 components, log-space loss with ln σ
  clamped to [-10, 10], RMSprop (lr 1e-2), 10 000 full-batch iterations.

Usage: ``python benchmarks/mdn.py [--seeds 3]`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import torch
from scipy.stats import norm
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import set_seed  # noqa: E402
from shared.toy import sine_inverse  # noqa: E402

CHAPTER = ROOT / "book" / "en" / "mdn.ipynb"
CHAPTER_CELLS = ("LOG_2PI = ", "class MDN(", "def train_mdn(", "def f(y):")


def chapter_code() -> dict:
    """Execute the chapter's loss, model and training-loop cells; return their namespace."""
    nb = nbformat.read(CHAPTER, as_version=4)
    namespace: dict = {"math": math, "np": np, "torch": torch, "nn": nn, "norm": norm,
                       "trange": lambda n, **_: range(n)}
    for prefix in CHAPTER_CELLS:
        cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(prefix)]
        if len(cells) != 1:
            raise SystemExit(f"expected one cell starting with {prefix!r} in {CHAPTER}, found {len(cells)}")
        exec(compile(cells[0], f"{CHAPTER.name}:{prefix}", "exec"), namespace)
    return namespace


def tensors(data):
    return torch.from_numpy(data.inputs), torch.from_numpy(data.targets)


# --- seed 001: probabilities-space loss ------------------------------------------------
class Seed001MDN(nn.Module):
    def __init__(self, n_hidden: int = 20, n_components: int = 5):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
        self.pi = nn.Linear(n_hidden, n_components)
        self.sigma = nn.Linear(n_hidden, n_components)
        self.mu = nn.Linear(n_hidden, n_components)

    def forward(self, x):
        h = self.hidden(x)
        return torch.softmax(self.pi(h), -1), torch.exp(self.sigma(h)), self.mu(h)


def seed001_nll(pi, sigma, mu, t):
    density = pi * torch.exp(-0.5 * ((t - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return -torch.log(density.sum(-1))


def train_seed001(train, steps: int = 10_000):
    model = Seed001MDN()
    opt = torch.optim.Adam(model.parameters())
    x, t = tensors(train)
    bad = 0
    for _ in range(steps):
        loss = seed001_nll(*model(x), t).mean()
        bad += int(not torch.isfinite(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, bad


def eval_seed001(model, data) -> float:
    with torch.no_grad():
        return seed001_nll(*model(tensors(data)[0]), tensors(data)[1]).mean().item()


# --- seed 002: log-space loss, 24 components, RMSprop ---------------------------------
class Seed002MDN(nn.Module):
    def __init__(self, n_hidden: int = 50, n_components: int = 24):
        super().__init__()
        self.linear = nn.Linear(1, n_hidden)
        self.log_pi = nn.Sequential(nn.Linear(n_hidden, n_components), nn.LogSoftmax(dim=1))
        self.mu = nn.Linear(n_hidden, n_components)
        self.log_sigma = nn.Linear(n_hidden, n_components)

    def forward(self, x):
        h = torch.tanh(self.linear(x))
        return self.log_pi(h), self.mu(h), torch.exp(torch.clamp(self.log_sigma(h), -10, 10))


def seed002_nll(log_pi, mu, sigma, t):
    z = (t - mu) / sigma
    return -torch.logsumexp(log_pi - 0.5 * z * z - torch.log(sigma) - 0.5 * math.log(2 * math.pi), dim=1)


def train_seed002(train, steps: int = 10_000):
    model = Seed002MDN()
    opt = torch.optim.RMSprop(model.parameters())
    x, t = tensors(train)
    bad = 0
    for _ in range(steps):
        loss = seed002_nll(*model(x), t).mean()
        bad += int(not torch.isfinite(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, bad


def eval_seed002(model, data) -> float:
    with torch.no_grad():
        return seed002_nll(*model(tensors(data)[0]), tensors(data)[1]).mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description="MDN benchmark (sine inverse problem)")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per recipe")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train, valid, test = sine_inverse(1000, seed=1), sine_inverse(2000, seed=2), sine_inverse(10_000, seed=3)
    ns = chapter_code()
    truth = ns["true_nll"](test)

    def run_chapter(threads: int):
        def run():
            torch.set_num_threads(threads)
            model = ns["MDN"]()
            ns["train_mdn"](model, train, valid, steps=2500)
            torch.set_num_threads(2)
            return model, 0
        return run

    def eval_chapter(model, data):
        with torch.no_grad():
            return ns["mdn_nll"](*model(tensors(data)[0]), tensors(data)[1]).mean().item()

    recipes = [("chapter (64x2 tanh, K=8, Adam one-cycle, 2500 steps), 1 thread", run_chapter(1), eval_chapter),
               ("chapter, same, 2 threads", run_chapter(2), eval_chapter),
               ("Jung's tutorial (20 tanh, K=5, prob.-space loss, Adam, 10k epochs)", lambda: train_seed001(train), eval_seed001),
               ("\"Mixture Density Net\" (50 tanh, K=24, log-space, RMSprop, 10k iters)", lambda: train_seed002(train), eval_seed002)]
    print(f"Bayes-optimal NLL of the process (y ~ U(-10, 10), noise sd 1): {ns['bayes_optimal_nll']():.4f} nats")
    print(f"true p(y|x) on the 10 000 held-out points:                    {truth:.4f} nats\n")
    print(f"{'recipe':<68} {'time (s)':>9} {'held-out NLL':>20} {'gap':>7} {'non-finite train losses':>18}")
    chapter_time = None
    for name, train_fn, eval_fn in recipes:
        times, nlls, bad = [], [], 0
        for seed in range(args.seeds):
            set_seed(seed)
            start = time.perf_counter()
            model, n_bad = train_fn()
            times.append(time.perf_counter() - start)
            nlls.append(eval_fn(model, test))
            bad += n_bad
        t_mean = float(np.mean(times))
        finite = [v for v in nlls if np.isfinite(v)]
        nll_mean = float(np.mean(finite)) if finite else float("inf")
        chapter_time = chapter_time or t_mean
        note = f"   (x{t_mean / chapter_time:.1f} time)"
        if len(finite) < len(nlls):
            note += f"; held-out NLL = inf for {len(nlls) - len(finite)}/{len(nlls)} seeds (not in the mean)"
        print(f"{name:<68} {t_mean:>9.2f} {nll_mean:>12.4f} ± {np.std(finite) if finite else 0:.4f} "
              f"{nll_mean - truth:>+7.3f} {bad:>18d}{note}")


if __name__ == "__main__":
    main()
