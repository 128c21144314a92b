"""GAN benchmark: the chapter's training step beside the IAI-UNSAM notebook's recipe, and every model's FID.

Prints, in one run:

1. **Throughput**: steps per second of the chapter's MLP GAN step (a
   ``tf.GradientTape`` step in ``tf.function``, with the chapter's loop body:
   random batch, step, losses read back) and of the IAI-UNSAM notebook's recipe (seed 000)
   (``train_on_batch`` on the discriminator and on the stacked model) run
   under legacy Keras 2 (``tf_keras``), where it trains, at the same batch
   size (32) and on the same data; their ratio.
2. **The discriminator learns**: in the chapter's loop its weights change and
   its accuracy on fakes is above chance in the first steps; the same recipe
   under Keras 3 leaves the discriminator's weights unchanged.
3. **DCGAN kernel size**: seconds per step of the chapter's DCGAN with 5×5
   (Géron's, the chapter's choice) and 3×3 kernels.
4. **Full chapter models** (budgets as in the notebook; the DCGAN and the USM GAN
   are the chapter's stored long runs, ``shared.long_runs``): training time and
   FID of the MLP GAN, the DCGAN, the USM GAN (seed 003) and the VAE chapter's VAE,
   with FID(train, test) (floor) and FID of uniform noise (a reference value, not a bound), and a
   NaN check of every loss.
The chapter's DCGAN recipe (learning rate, kernel size, generator activation)
is chosen on validation FID over three seeds by ``benchmarks/gan_selection.py``;
this script reports only the test FIDs of the chapter's final models.

The chapter's code is *executed from* ``book/en/gan.ipynb`` (the cells named
in ``CHAPTER_CELLS``), so the benchmark measures exactly what readers run.

Usage::

    python benchmarks/gan.py            # full budgets (about 7 minutes on 2 idle cores)
    python benchmarks/gan.py --quick    # quick budgets, a smoke run (about a minute)

Timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import linecache
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHAPTER = ROOT / "book" / "en" / "gan.ipynb"
#: chapter cells (by their first characters) that define the code, in order
DEFINITIONS = ("import sys", "def make_mlp_gan(", "def d_loss_fn(", "def normal_z(", "LOG_DIR = ",
               "data = load_fashion_mnist()", "def make_dcgan(")
#: chapter cells that train and evaluate the models, in order
TRAINING = ("STEPS_MLP = ", "clf = load_classifier()", "def show_snapshots(", "def train_dcgan(", "STEPS_DCGAN = ",
            "def generate_unit(", "def make_usm_gan(", "STEPS_USM = ", "from shared.vae import")


def chapter_cell(prefix: str) -> str:
    """Source of the one chapter code cell that starts with ``prefix``."""
    nb = nbformat.read(CHAPTER, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith(prefix)]
    if len(cells) != 1:
        raise SystemExit(f"expected one cell starting with {prefix!r} in {CHAPTER}, found {len(cells)}")
    return cells[0]


def run_cells(prefixes: tuple[str, ...], namespace: dict) -> None:
    """Execute the chapter's code cells that start with the given prefixes, in order."""
    for prefix in prefixes:
        source = chapter_cell(prefix)
        filename = f"<{CHAPTER.name}:{prefix.strip()}>"
        # register the source so that tf.function's AutoGraph can read it, as in a notebook
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)


def chapter_throughput(ns: dict, steps: int, batch_size: int = 32, warmup: int = 10) -> dict:
    """Seconds per step of the chapter's step and loop body on the MLP GAN; D's learning signs."""
    keras, tf = ns["keras"], ns["tf"]
    ns["set_seed"](0)
    generator, discriminator = ns["make_mlp_gan"](30)
    step_fn = ns["make_train_step"](generator, discriminator, keras.optimizers.RMSprop(learning_rate=1e-3),
                                    keras.optimizers.RMSprop(learning_rate=1e-3))
    x = ns["x_train"]
    batches = np.random.default_rng(0)
    d_before = [w.copy() for w in discriminator.get_weights()]
    history = []
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        idx = batches.integers(0, len(x), size=batch_size)  # the loop body of the chapter's train_gan
        history.append(step_fn(tf.constant(x[idx])).numpy())
    seconds = (time.perf_counter() - start) / steps
    history = np.array(history)
    d_change = max(float(np.abs(a - b).max()) for a, b in zip(d_before, discriminator.get_weights()))
    return {"seconds_per_step": seconds, "d_max_abs_weight_change": d_change, "history": history,
            "any_nan_loss": bool(np.isnan(history).any())}


#: Adam's learning rate of the chapter's DCGAN, as written in its training cell.
CHAPTER_DCGAN_LR_TEXT = "5e-4"
CHAPTER_DCGAN_LR = float(CHAPTER_DCGAN_LR_TEXT)


def check_chapter_learning_rate() -> None:
    """Stop if the chapter's DCGAN no longer trains with ``CHAPTER_DCGAN_LR`` (the benchmarks would lie)."""
    if chapter_cell("def train_dcgan(").count(f"Adam(learning_rate={CHAPTER_DCGAN_LR_TEXT},") != 2:
        raise SystemExit(f"the chapter's DCGAN no longer trains with Adam(learning_rate={CHAPTER_DCGAN_LR_TEXT}): "
                         "update CHAPTER_DCGAN_LR_TEXT in benchmarks/gan.py")


def dcgan_optimizers(keras, learning_rate: float = CHAPTER_DCGAN_LR) -> tuple:
    """The chapter's DCGAN optimizers (generator's, discriminator's), as in its training cell."""
    return keras.optimizers.Adam(learning_rate, beta_1=0.5), keras.optimizers.Adam(learning_rate, beta_1=0.5)


def geron_generator(ns: dict, codings_size: int = 100, kernel_size: int = 3):
    """Géron's DCGAN generator (seed 000): SELU after the first transposed convolution."""
    keras, layers = ns["keras"], ns["layers"]
    return keras.Sequential([
        keras.Input(shape=(codings_size,)),
        layers.Dense(7 * 7 * 128),
        layers.Reshape((7, 7, 128)),
        layers.BatchNormalization(),
        layers.Conv2DTranspose(64, kernel_size, strides=2, padding="same", activation="selu"),
        layers.BatchNormalization(),
        layers.Conv2DTranspose(1, kernel_size, strides=2, padding="same", activation="tanh"),
    ], name="geron_generator")


def dcgan_step_seconds(ns: dict, kernel_size: int, steps: int, batch_size: int = 64) -> float:
    keras, tf = ns["keras"], ns["tf"]
    ns["set_seed"](0)
    generator, discriminator = ns["make_dcgan"](kernel_size=kernel_size)
    step_fn = ns["make_train_step"](generator, discriminator, *dcgan_optimizers(keras))
    batch = tf.constant(ns["x_train_tanh"][:batch_size])
    for _ in range(3):
        step_fn(batch).numpy()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn(batch).numpy()
    return (time.perf_counter() - start) / steps


def chapter_namespace(quick: bool) -> dict:
    """The chapter's definitions (``DEFINITIONS``) executed at the quick or full budgets, figures closed."""
    os.environ["COURSE_QUICK"] = "1" if quick else "0"
    check_chapter_learning_rate()
    ns: dict = {"__name__": "gan_chapter"}
    run_cells(DEFINITIONS, ns)
    import matplotlib.pyplot as plt

    plt.close("all")
    return ns


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick budgets (smoke run)")
    args = parser.parse_args(argv)
    total_start = time.perf_counter()

    from benchmarks.seed000_recipe import run_seed000_recipe, run_seed000_recipe_keras3

    ns = chapter_namespace(args.quick)
    import matplotlib.pyplot as plt

    steps = 50 if args.quick else 500
    print(f"== 1. Training-step throughput, MLP GAN of the IAI-UNSAM notebook, batch 32, {steps} timed steps ==")
    chapter = chapter_throughput(ns, steps)
    legacy = run_seed000_recipe(ns["data"].x_train, steps=steps)
    ratio = legacy["seconds_per_step"] / chapter["seconds_per_step"]
    print(f"  chapter step (GradientTape + tf.function, Keras {ns['keras'].__version__}): "
          f"{1e3 * chapter['seconds_per_step']:6.2f} ms/step  {1 / chapter['seconds_per_step']:6.1f} steps/s")
    print(f"  IAI-UNSAM recipe (train_on_batch, {legacy['keras']}): "
          f"{1e3 * legacy['seconds_per_step']:6.2f} ms/step  {legacy['steps_per_second']:6.1f} steps/s")
    print(f"  speed-up: {ratio:.2f}x  ({'meets' if ratio >= 3 else 'BELOW'} the 3x bar)")

    print("== 2. Does the discriminator learn? ==")
    acc_fake = chapter["history"][:, 3]
    early = acc_fake[:50].mean()
    print(f"  chapter: max |dw_D| = {chapter['d_max_abs_weight_change']:.3g}; D accuracy on fakes, "
          f"mean of steps 1-50: {early:.2f}, last 50: {acc_fake[-50:].mean():.2f} (chance 0.50)")
    print(f"  IAI-UNSAM recipe under {legacy['keras']}: D weights changed {legacy['d_weights_changed']} "
          f"(max |dw| {legacy['d_max_abs_weight_change']:.3g}); D accuracy on fixed fakes "
          + ", ".join(f"{s}:{a:.2f}" for s, a in list(zip(legacy["eval_step"], legacy["d_fake_accuracy"]))[:4]))
    k3 = run_seed000_recipe_keras3(ns["data"].x_train, steps=min(steps, 100))
    print(f"  IAI-UNSAM recipe under {k3['keras']}: D weights changed {k3['d_weights_changed']} "
          f"(max |dw| {k3['d_max_abs_weight_change']:.3g}); G weights changed {k3['g_weights_changed']}")

    print("== 3. DCGAN seconds per step (batch 64), kernel 5x5 (Geron, the chapter) vs 3x3 ==")
    n_dc = 3 if args.quick else 50
    t5, t3 = dcgan_step_seconds(ns, 5, n_dc), dcgan_step_seconds(ns, 3, n_dc)
    print(f"  5x5: {1e3 * t5:.0f} ms/step   3x3: {1e3 * t3:.0f} ms/step   ratio {t5 / t3:.2f}")

    print("== 4. The chapter's models at its budgets ==", flush=True)
    run_cells(TRAINING, ns)
    plt.close("all")
    table, N = ns["fid_table"], ns["N_FID"]
    runs = {"MLP GAN": ns["mlp_run"], "DCGAN": ns["dcgan_run"], "USM GAN": ns["usm_run"]}
    print(f"  FID on the course classifier (test accuracy {ns['clf'].test_accuracy:.3f}), n = {N} vs {N} test images")
    for name, value in sorted(table.items(), key=lambda item: item[1]):
        seconds = runs[name]["seconds"] if name in runs else None
        if name == "VAE (d=2)":
            seconds = ns["vae_info"]["train_seconds"]
        extra = f"   trained in {seconds:6.0f} s" if seconds is not None else ""
        print(f"  {name:<24} FID {value:9.2f}{extra}")
    print(f"  DCGAN steps {ns['STEPS_DCGAN']}: {ns['dcgan_run']['seconds'] / 60:.1f} min; VAE "
          f"model: {ns['vae_info']['source']}")
    dc = table["DCGAN"]
    print(f"  DCGAN below MLP GAN: {dc < table['MLP GAN']} ({table['MLP GAN'] / dc:.1f}x); "
          f"below VAE: {dc < table['VAE (d=2)']} ({table['VAE (d=2)'] / dc:.1f}x)")
    nan = {name: bool(np.isnan(r["history"]).any()) for name, r in runs.items()}
    nan["throughput runs"] = chapter["any_nan_loss"] or legacy["any_nan_loss"]
    print(f"  NaN in any loss: {any(nan.values())}  {nan}")
    print(f"total benchmark time {(time.perf_counter() - total_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
