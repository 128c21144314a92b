"""Calibration of the projects' bands: trains reference models and prints what the grader measures.

Run (about 25 minutes on 2 CPU cores; ``--only mdn|vae|gan|copies`` for one table)::

    PYTHONPATH=. python benchmarks/projects.py
    PYTHONPATH=. python benchmarks/projects.py --only gan --solutions-only   # the solution's 3 seeds only

Every model is saved and measured with ``shared.projects.selfcheck.measure_file``
(the grader's measurements, on public inputs), so the tables show what the
grader would give.

* MDN project: the solution notebook's recipe and two weaker variants.
* VAE and GAN projects: the solution notebook, *executed* from
  ``solutions/en/<project>.ipynb`` at its full budget over three seeds
  (mean +- sd), beside the chapters' models (the VAE chapter's VAE; the GAN
  chapter's MLP GAN and DCGAN, executed from ``book/en/gan.ipynb``) and
  untrained models.
* Copy check: the nearest-neighbour distances that
  ``shared.projects.bands.COPIES`` is set from.
"""

from __future__ import annotations

import argparse
import linecache
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ["COURSE_QUICK"] = "0"

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import nbformat  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SEEDS = (0, 1, 2)
#: ``--solutions-only``: the VAE and GAN tables train only the solution notebook (its three seeds)
SOLUTIONS_ONLY = False


def train_mdn(k: int, epochs: int, decay: bool, seed: int = 0):
    import keras
    import tensorflow as tf

    from shared.arm import sample_arm

    keras.utils.set_random_seed(seed)
    train, val = sample_arm(20_000, seed=0), sample_arm(5_000, seed=1)

    def mdn_nll(theta, params):
        mu = tf.reshape(params[:, k:3 * k], (-1, k, 2))
        log_sigma = tf.reshape(params[:, 3 * k:], (-1, k, 2))
        z = (theta[:, None, :] - mu) / tf.exp(log_sigma)
        log_normal = tf.reduce_sum(-0.5 * z ** 2 - log_sigma - 0.5 * np.log(2 * np.pi), axis=2)
        return -tf.reduce_logsumexp(tf.nn.log_softmax(params[:, :k]) + log_normal, axis=1)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="tanh"),
                              keras.layers.Dense(64, activation="tanh"), keras.layers.Dense(5 * k)])
    steps = epochs * -(-len(train.inputs) // 128)
    lr = keras.optimizers.schedules.CosineDecay(3e-3, steps) if decay else 3e-3
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss=mdn_nll)
    start = time.perf_counter()
    model.fit(train.inputs, train.targets, validation_data=(val.inputs, val.targets), epochs=epochs,
              batch_size=128, verbose=0)
    return model, time.perf_counter() - start


def mdn_table() -> None:
    from shared.projects.models import save_model
    from shared.projects.selfcheck import measure_file

    print("MDN project (seed 0): gap = NLL - Bayes-optimal NLL on 20 000 fresh pairs")
    print(f"{'model':<38} {'train s':>8} {'gap':>7} {'share err':>9} {'missed':>7} {'off':>6} {'score':>6}")
    variants = [("solution: K=3, cosine decay, 100 epochs", 3, 100, True),
                ("K=3, constant lr, 60 epochs", 3, 60, False),
                ("K=1 (one Gaussian), 30 epochs", 1, 30, False)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, k, epochs, decay in variants:
            model, seconds = train_mdn(k, epochs, decay)
            path = save_model(model, Path(tmp) / f"k{k}-{epochs}.keras", "mdn")
            parts = measure_file("mdn-project", path)
            nll, cov = (p.values for p in parts)
            total = sum(p.points for p in parts)
            print(f"{name:<38} {seconds:>8.1f} {nll['gap']:>7.3f} {cov['share_error']:>9.3f} "
                  f"{100 * cov['missed']:>6.1f}% {100 * cov['off']:>5.1f}% {total:>6g}")


def copies_table() -> None:
    from shared.data import load_fashion_mnist
    from shared.projects import bands, measure

    data = load_fashion_mnist(validation=0)
    reference = measure.reference_set(data.x_train.astype(np.float32) / 255)
    rng = np.random.default_rng(0)
    test = data.x_test[:1000].astype(np.float32) / 255
    copies = data.x_train[rng.choice(len(data.x_train), 1000, replace=False)].astype(np.float32) / 255
    print("\nCopy check: distance to the nearest training image (unit-length 2x2-pooled images,")
    print(f"min over mirror images and 1-pixel shifts); caught: closer than {bands.COPIES.distance:g}")
    print(f"{'images':<34} {'p0.5':>6} {'p1':>6} {'p50':>6} {'caught':>7}")
    rows = [("1 000 test images (honest)", test), ("training copies", copies),
            ("training copies, mirrored", copies[:, :, ::-1]),
            ("training copies at 80 % brightness", 0.8 * copies),
            ("training copies shifted 1 px", np.roll(copies, 1, axis=2)),
            ("training copies + noise 0.02", np.clip(copies + rng.normal(0, 0.02, copies.shape), 0, 1)),
            ("training copies + noise 0.1", np.clip(copies + rng.normal(0, 0.1, copies.shape), 0, 1)),
            ("training copies shifted 2 px", np.roll(copies, 2, axis=2)),
            ("training copies, gamma 0.5", copies ** 0.5)]
    for name, images in rows:
        d = measure.nearest_distances(images.astype(np.float32), reference)
        p = np.percentile(d, [0.5, 1, 50])
        caught = 100 * np.mean(d < bands.COPIES.distance)
        print(f"{name:<34} {p[0]:>6.3f} {p[1]:>6.3f} {p[2]:>6.3f} {caught:>6.1f}%")
    honest = measure.check_distinct(data.x_test[:5000].astype(np.float32) / 255)
    print(f"\nRepeated samples (duplicate closer than {bands.COPIES.duplicate_distance:g}): 5 000 test images "
          f"{100 * honest:.1f} %")
    print("\nSmoothness along paths in z (median share of the largest of "
          f"{bands.COPIES.path_steps} steps; refused above {bands.COPIES.max_jump_share:g}):")
    from shared.projects.evaluate import fid_to_test, path_codes

    codes = path_codes(np.random.default_rng(0))[:, :16]
    z = rng.standard_normal((5000, 16))
    pick, noise = rng.standard_normal((16, len(copies))), rng.standard_normal((16, 784)) / 4   # noise std 1
    table = copies.reshape(len(copies), 784)
    shape = (bands.COPIES.n_paths, bands.COPIES.path_steps + 1, 784)
    print(f"  {'a lookup of 1 000 stored images':<52} {'jump':>6} {'FID':>7}")
    for name, stored, scale in [("gamma 0.5 + z-noise of std 0.02", table ** 0.5, 0.02)] + \
            [(f"+ z-noise of std {s:g}", table, s) for s in (0.1, 0.2, 0.3, 0.5)]:
        images = np.clip(stored[np.argmax(codes @ pick, axis=1)] + scale * codes @ noise, 0, 1)
        samples = np.clip(stored[np.argmax(z @ pick, axis=1)] + scale * z @ noise, 0, 1)
        fid = fid_to_test(samples.reshape(-1, 28, 28).astype(np.float32), 1, 5000)
        print(f"  {name:<52} {measure.jump_share(images.reshape(shape)):>6.3f} {fid:>7.1f}")
    try:
        measure.check_distinct((copies ** 0.5)[rng.integers(0, len(copies), 5000)])
        print("a generator returning 1 000 stored images (gamma 0.5) for 5 000 codes: NOT refused")
    except measure.Refused as why:
        print(f"a generator returning 1 000 stored images (gamma 0.5) for 5 000 codes: {why.why['en'][:40]}...")


def run_solution(project: str, seed: int, folder: Path) -> tuple[Path, float]:
    """Execute the solution notebook's code (no setup, plots or self-check) with ``seed``; save its model.

    Returns the saved file and the seconds of the training cell (the one with ``budget(full=``).
    """
    nb = nbformat.read(ROOT / "solutions" / "en" / f"{project}.ipynb", as_version=4)
    namespace: dict = {"__name__": "__solution__"}
    train_seconds, cwd = 0.0, os.getcwd()
    os.chdir(folder)
    try:
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            tags = cell.metadata.get("tags", [])
            if "setup" in tags or "language" in tags or "plt.subplots" in cell.source:
                continue
            source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("self_check("))
            filename = f"<{project}:{i}>"   # so that tf.function's AutoGraph can read the source
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            start = time.perf_counter()
            exec(compile(source, filename, "exec"), namespace)
            if "budget(full=" in source:
                train_seconds = time.perf_counter() - start
            if "set_seed(0)" in source:
                namespace["set_seed"](seed)
    finally:
        os.chdir(cwd)
    return folder / namespace["MODEL_FILE"], train_seconds


def jump_share(project: str, path: Path) -> float:
    """``measure.check_smooth``'s statistic for a saved VAE decoder or GAN generator (public paths)."""
    from shared.projects import PROJECTS, bands, measure
    from shared.projects.evaluate import path_codes
    from shared.projects.models import load_model

    kind = PROJECTS[project]
    model, codes = load_model(path, kind), path_codes(np.random.default_rng(0))
    if kind == "vae":
        images = measure.sigmoid(model(np.zeros((len(codes), 784), np.float32), codes)[2])
    else:
        images = model(codes)[0]
    return measure.jump_share(images.reshape(bands.COPIES.n_paths, bands.COPIES.path_steps + 1, 784))


def print_rows(rows: list[tuple[str, float, list, float]]) -> None:
    """One line per model: training seconds, the measured values of every part, the jump share, the score."""
    names = [f"{p.qid} {k}" for p in rows[0][2] for k in p.values]
    print(f"{'model':<44} {'train s':>8} " + " ".join(f"{n:>12}" for n in names) + f" {'jump':>6} {'score':>6}")
    for name, seconds, parts, jump in rows:
        values = [v for p in parts for v in p.values.values()]
        cells = " ".join(f"{v:>12.3f}" for v in values) if len(values) == len(names) else \
            " ".join(p.feedback["en"][:40] for p in parts)
        print(f"{name:<44} {seconds:>8.1f} {cells} {jump:>6.3f} {sum(p.points for p in parts):>6g}")


def solution_rows(project: str, tmp: Path) -> list[tuple[str, float, list]]:
    """The solution notebook trained with each of SEEDS and measured; prints mean +- sd."""
    from shared.projects.selfcheck import measure_file

    rows = []
    for seed in SEEDS:
        folder = tmp / f"{project}-{seed}"
        folder.mkdir()
        path, seconds = run_solution(project, seed, folder)
        rows.append((f"solution notebook, seed {seed}", seconds, measure_file(project, path),
                     jump_share(project, path)))
    for p_index, part in enumerate(rows[0][2]):
        for key in part.values:
            values = np.array([r[2][p_index].values[key] for r in rows])
            print(f"  solution {part.qid} {key}: {values.mean():.3f} +- {values.std(ddof=1):.3f} "
                  f"({len(SEEDS)} seeds)")
    return rows


def vae_table() -> None:
    from shared.data import load_fashion_mnist
    from shared.projects.models import save_model
    from shared.projects.selfcheck import measure_file
    from shared.vae import VAE, train_vae

    print("\nVAE project: test -ELBO (nats/image, 2 000 test images) and FID (5 000 prior samples)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = solution_rows("vae-project", Path(tmp))
        if SOLUTIONS_ONLY:
            return print_rows(rows)
        data = load_fashion_mnist()
        x, xv = data.x_train[..., None] / 255.0, data.x_valid[..., None] / 255.0
        model, _, seconds = train_vae(x, xv, latent_dim=2, epochs=8)   # the VAE chapter's model and budget
        path = save_model((model.encoder, model.decoder), Path(tmp) / "chapter.keras", "vae")
        rows.append(("VAE chapter's model (d = 2, 8 epochs)", seconds, measure_file("vae-project", path),
                     jump_share("vae-project", path)))
        fresh = VAE(16)
        path = save_model((fresh.encoder, fresh.decoder), Path(tmp) / "untrained.keras", "vae")
        rows.append(("untrained (chapter's architecture, d = 16)", 0.0, measure_file("vae-project", path),
                     jump_share("vae-project", path)))
    print_rows(rows)


def gan_table() -> None:
    import keras

    import gan as chapter   # benchmarks/gan.py: runs the GAN chapter's cells
    from shared.projects.models import save_model
    from shared.projects.selfcheck import measure_file

    print("\nGAN project: FID (5 000 samples vs 5 000 test images) and KL(class histogram || uniform)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = solution_rows("gan-project", Path(tmp))
        if SOLUTIONS_ONLY:
            return print_rows(rows)
        ns = {"__name__": "__chapter__"}
        chapter.run_cells(chapter.DEFINITIONS, ns)
        for name, make, x, opts in [("GAN chapter's MLP GAN (4 000 steps)", "make_mlp_gan", "x_train", {}),
                                    ("GAN chapter's DCGAN (3 000 steps)", "make_dcgan", "x_train_tanh",
                                     {"batch_size": 64})]:
            ns["set_seed"](0)
            generator, discriminator = ns[make]()
            if make == "make_dcgan":
                opts = dict(opts, g_optimizer=keras.optimizers.Adam(learning_rate=5e-4, beta_1=0.5),
                            d_optimizer=keras.optimizers.Adam(learning_rate=5e-4, beta_1=0.5))
            steps = 4000 if make == "make_mlp_gan" else 3000
            run = ns["train_gan"](generator, discriminator, ns[x], steps=steps, **opts)
            model = keras.Sequential([generator, keras.layers.Rescaling(0.5, offset=0.5)]) \
                if make == "make_dcgan" else generator
            path = save_model(model, Path(tmp) / f"{make}.keras", "gan")
            rows.append((name, run["seconds"], measure_file("gan-project", path), jump_share("gan-project", path)))
        ns["set_seed"](0)
        untrained = keras.Sequential([ns["make_dcgan"]()[0], keras.layers.Rescaling(0.5, offset=0.5)])
        path = save_model(untrained, Path(tmp) / "untrained.keras", "gan")
        rows.append(("untrained DCGAN generator", 0.0, measure_file("gan-project", path),
                     jump_share("gan-project", path)))
    print_rows(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=["mdn", "vae", "gan", "copies"])
    parser.add_argument("--solutions-only", action="store_true",
                        help="VAE and GAN tables: only the solution notebook's seeds (about 10 minutes each)")
    args = parser.parse_args()
    only, SOLUTIONS_ONLY = args.only, args.solutions_only
    sys.path.insert(0, str(ROOT / "benchmarks"))
    for name, table in [("mdn", mdn_table), ("vae", vae_table), ("gan", gan_table), ("copies", copies_table)]:
        if only in (None, name):
            table()
