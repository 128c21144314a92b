"""How the GAN chapter's DCGAN recipe was chosen: validation FID over several seeds.

The chapter trains one DCGAN (``book/en/gan.ipynb``). Its design choices --
Adam's learning rate, the kernel size, the generator's activation after the
first transposed convolution -- are compared here one at a time, each against
the chapter's recipe with everything else equal:

* ``chapter``: the chapter's recipe when it was compared (BN + ReLU, 3x3 kernels, Adam 5e-4,
  beta_1 0.5); the chapter then took the winner, ``kernel 5``;
* ``lr 2e-4``: the DCGAN paper's learning rate;
* ``kernel 5``: Géron's 5x5 kernels;
* ``SELU``: Géron's generator (SELU after the transposed convolution, no
  activation after the dense layer).

Every variant is trained with ``SEEDS`` seeds for the chapter's full budget
(``STEPS_DCGAN`` steps, batch 64, the chapter's training step, executed from the
notebook) and scored by FID between ``N`` generated images and ``N``
**validation** images (the last 5 000 of the 60 000 training images, which
neither the GANs nor the course classifier train on), at a few checkpoints
along the run. The test set is not used here: the chapter reports the chosen
model's test FID once.

Prints mean ± sd [each seed] per variant and checkpoint, and writes the
numbers to ``benchmarks/results/gan-selection.json``.

Usage::

    python benchmarks/gan_selection.py            # full (about 35 min on 2 idle cores)
    python benchmarks/gan_selection.py --quick    # a smoke run (about a minute)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.gan import CHAPTER_DCGAN_LR, chapter_namespace, dcgan_optimizers, geron_generator  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "gan-selection.json"
#: variant name -> (learning rate, kernel size, generator builder or None for the chapter's)
VARIANTS = {
    "chapter": (CHAPTER_DCGAN_LR, 3, None),
    "lr 2e-4": (2e-4, 3, None),
    "kernel 5": (CHAPTER_DCGAN_LR, 5, None),
    "SELU": (CHAPTER_DCGAN_LR, 3, geron_generator),
}


def train_variant(ns: dict, learning_rate: float, kernel_size: int, make_generator, seed: int,
                  steps: int, checkpoints: list[int], x_valid: np.ndarray, n_fid: int) -> dict:
    """Train one DCGAN variant with the chapter's step and batches; validation FID at the checkpoints."""
    tf, keras = ns["tf"], ns["keras"]
    ns["set_seed"](seed)
    chapter_generator, discriminator = ns["make_dcgan"](kernel_size=kernel_size)
    generator = make_generator(ns, kernel_size=kernel_size) if make_generator else chapter_generator
    step_fn = ns["make_train_step"](generator, discriminator, *dcgan_optimizers(keras, learning_rate))
    x = ns["x_train_tanh"]
    batches = np.random.default_rng(seed)  # as the chapter's train_gan draws its batches
    fids, seconds = {}, 0.0
    for step in range(1, steps + 1):
        start = time.perf_counter()
        idx = batches.integers(0, len(x), size=64)
        losses = step_fn(tf.constant(x[idx])).numpy()
        seconds += time.perf_counter() - start
        if not np.isfinite(losses).all():
            raise RuntimeError(f"a loss became {losses} at step {step}")
        if step in checkpoints:
            z = tf.random.normal((n_fid, generator.inputs[0].shape[-1]))
            samples = np.concatenate([generator(z[i:i + 1000], training=False).numpy()
                                      for i in range(0, n_fid, 1000)])
            fids[step] = ns["fid"]((samples[..., 0] + 1) / 2, x_valid, ns["clf"])  # tanh -> [0, 1]
    return {"fid": fids, "seconds": seconds}


def summary(values: list[float]) -> str:
    """``mean ± sd [v1, v2, ...]``"""
    arr = np.asarray(values)
    return f"{arr.mean():6.1f} ± {arr.std(ddof=1) if len(arr) > 1 else 0.0:4.1f} [" + \
        ", ".join(f"{v:.1f}" for v in arr) + "]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: few steps, small FID samples")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    total_start = time.perf_counter()
    ns = chapter_namespace(args.quick)

    from shared.quality import fid, load_classifier

    ns["fid"], ns["clf"] = fid, load_classifier()
    steps = 30 if args.quick else 3000
    checkpoints = [10, 20, 30] if args.quick else [1000, 2000, 3000]
    n_fid = 500 if args.quick else 5000
    x_valid = ns["data"].x_valid[:n_fid]
    print(f"== DCGAN variants: FID of {n_fid} samples vs {n_fid} validation images, {args.seeds} seeds, "
          f"checkpoints {checkpoints} ==", flush=True)
    results: dict = {}
    for name, (learning_rate, kernel_size, make_generator) in VARIANTS.items():
        runs = [train_variant(ns, learning_rate, kernel_size, make_generator, seed, steps, checkpoints,
                              x_valid, n_fid) for seed in range(args.seeds)]
        results[name] = {"learning_rate": learning_rate, "kernel_size": kernel_size,
                         "generator": "geron_selu" if make_generator else "chapter",
                         "fid": {str(c): [r["fid"][c] for r in runs] for c in checkpoints},
                         "seconds": [r["seconds"] for r in runs]}
        cells = "   ".join(f"@{c}: {summary(results[name]['fid'][str(c)])}" for c in checkpoints)
        print(f"  {name:<10} {cells}   {np.mean(results[name]['seconds']):.0f} s/run", flush=True)
    final = str(checkpoints[-1])
    best = min(results, key=lambda n: np.mean(results[n]["fid"][final]))
    print(f"lowest mean validation FID at {final} steps: {best}")
    if not args.quick:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps({"about": __doc__.split("\n")[0], "steps": steps, "n_fid": n_fid,
                                       "seeds": args.seeds, "best": best, "variants": results}, indent=1) + "\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    print(f"total {(time.perf_counter() - total_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
