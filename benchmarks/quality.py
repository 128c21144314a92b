"""Quality benchmark: the VAE chapter's main model over several seeds (test -ELBO, FID of its samples, time).

The VAE chapter trains its main model once, with seed 0, and the GAN chapter
compares that model's samples with the GANs'. This script trains the same
model with the chapter's recipe (``shared.vae.train_vae``, the chapter's
``#@save`` cell: latent dimension 2, 8 epochs on the 55 000 training images,
Adam 2e-3, batch 128) with seeds 0, 1, 2, ... and prints, per seed and as
mean ± sd:

* the test -ELBO (nats per image, ``shared.vae.negative_elbo`` on the 10 000
  test images, as the chapter prints it);
* the FID of 10 000 samples of the prior against the 10 000 test images (the
  GAN chapter's comparison, ``shared.quality.fid``);
* the training seconds.

The other chapters' models have their own seed studies: ``benchmarks/mdn.py``
(held-out NLL of the chapter's MDN, ``--seeds``) and
``benchmarks/gan_selection.py`` (the DCGAN's validation FID over three seeds).

Usage::

    python benchmarks/quality.py [--seeds 3] [--epochs 8]   # about 2.5 minutes per seed on 2 idle cores
    python benchmarks/quality.py --quick                    # smoke run: 1 epoch on 5 000 images, 1 000 samples
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.claims import format_table  # noqa: E402
from shared.data import load_fashion_mnist  # noqa: E402
from shared.quality import fid, load_classifier  # noqa: E402
from shared.vae import negative_elbo, train_vae  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds (0, 1, ...)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per training (the chapter's: 8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 5 000 images, n = 1 000")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        parser.error("--seeds and --epochs must be at least 1")
    epochs = 1 if args.quick else args.epochs
    n_train, n_eval = (5_000, 1_000) if args.quick else (55_000, 10_000)

    data = load_fashion_mnist()
    x_train = data.x_train[:n_train, ..., None].astype("float32") / 255.0
    x_valid = data.x_valid[..., None].astype("float32") / 255.0
    x_test = data.x_test[:n_eval, ..., None].astype("float32") / 255.0
    clf = load_classifier()
    print(f"VAE chapter's model (d = 2), {epochs} epochs on {n_train} images; test -ELBO on {len(x_test)} "
          f"images, FID of {n_eval} prior samples against as many test images", flush=True)
    rows: dict[str, list[float]] = {"test -ELBO (nats)": [], "FID (samples, test)": [], "train seconds": []}
    for seed in range(args.seeds):
        model, _, seconds = train_vae(x_train, x_valid, latent_dim=2, epochs=epochs, seed=seed)
        rows["test -ELBO (nats)"].append(negative_elbo(model, x_test))
        rows["FID (samples, test)"].append(fid(model.sample(n_eval, seed=seed), x_test, clf))
        rows["train seconds"].append(seconds)
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rows.items()), flush=True)
    print("\n" + format_table(rows, title=f"mean ± sd [each seed] over {args.seeds} seeds:", digits=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
