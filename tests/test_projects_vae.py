"""The VAE project graded end to end: the solution's saved model earns full marks; the blank, an
untrained VAE, a NaN decoder, a decoder that stores training images and an encoder that ignores its
image score as documented (docs/teacher-grading.md, "Graded projects")."""

from __future__ import annotations

import numpy as np
import pytest
from projects_support import FULL_PROJECTS, ROOT, grade, keras_lookup, make_folders, part, run_notebook, stored_images

from shared.projects.models import save_model

STEM = "vae-project"


def chapter_pair(latent_dim: int = 16, seed: int = 0):
    import keras

    from shared.vae import build_decoder, build_encoder

    keras.utils.set_random_seed(seed)
    return build_encoder(latent_dim), build_decoder(latent_dim)


@pytest.fixture(scope="module")
def vae_submissions(tmp_path_factory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("vae-submissions")
    folders = make_folders(base, STEM, ["solution", "blank", "untrained", "nan", "copies", "constant"])
    run_notebook(ROOT / "solutions" / "en" / f"{STEM}.ipynb", folders["solution"], quick=not FULL_PROJECTS)
    save_model(chapter_pair(), folders["untrained"] / f"{STEM}.keras", "vae")
    encoder, decoder = chapter_pair()
    last = decoder.layers[-1]
    last.set_weights([w * np.nan for w in last.get_weights()])
    save_model((encoder, decoder), folders["nan"] / f"{STEM}.keras", "vae")
    # a decoder that returns the logits of stored training images
    logits = np.log(np.clip(stored_images(), 0.01, 0.99) / (1 - np.clip(stored_images(), 0.01, 0.99)))
    save_model((chapter_pair()[0], keras_lookup(logits, 16)), folders["copies"] / f"{STEM}.keras", "vae")
    # an encoder whose code does not depend on the image
    encoder, decoder = chapter_pair()
    mu_layer, log_var_layer = encoder.get_layer("mu"), encoder.get_layer("log_var")
    for layer in (mu_layer, log_var_layer):
        kernel, bias = layer.get_weights()
        layer.set_weights([np.zeros_like(kernel), bias])
    save_model((encoder, decoder), folders["constant"] / f"{STEM}.keras", "vae")
    return grade(list(folders.values()), base / "results")


def test_the_solutions_saved_vae_is_graded_and_at_full_budget_earns_full_marks(vae_submissions):
    r = vae_submissions["solution"]
    assert r["error"] is None and r["max_points"] == 10, r
    if FULL_PROJECTS:
        assert r["points"] == 10, r
    else:  # quick budget: an honest, barely trained model is measured, not refused
        assert "-ELBO" in part(r, "elbo")["feedback"], r
        assert "FID" in part(r, "fid")["feedback"], r
    assert "Solution's report" in part(r, "report")["feedback"]


@pytest.mark.parametrize("name, qid, why", [
    ("blank", "elbo", "no model file"),
    ("blank", "fid", "no model file"),
    ("nan", "elbo", "NaN"),
    ("constant", "elbo", "ignores its input"),
    ("copies", "fid", "copies"),
])
def test_vaes_that_did_not_earn_a_part_get_zero_for_it_and_say_why(vae_submissions, name, qid, why):
    row = part(vae_submissions[name], qid)
    assert row["points"] == 0, row
    assert why in row["feedback"], row["feedback"]
    assert row["feedback_by_lang"]["es"] != row["feedback_by_lang"]["en"]


def test_an_untrained_vae_scores_zero_by_the_bands(vae_submissions):
    r = vae_submissions["untrained"]
    assert part(r, "elbo")["points"] == 0 and "-ELBO" in part(r, "elbo")["feedback"]
    assert part(r, "fid")["points"] == 0 and "FID" in part(r, "fid")["feedback"]


def reading_bundle(latent_dim: int = 8):
    """A hand-built VAE 'bundle' whose decoder reads the image passed beside z (not z): a cheat."""
    import keras

    keras.utils.set_random_seed(0)
    x = keras.Input((784,), name="images")
    z = keras.Input((latent_dim,), name="z")
    mu = keras.layers.Dense(latent_dim)(x)
    log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros")(x)
    logits = keras.layers.Rescaling(12.0, offset=-6.0)(x)           # reconstructs x itself
    return keras.Model([x, z], [mu, log_var, keras.layers.Add()([logits, keras.layers.Dense(784)(z)])])


def test_a_decoder_that_reads_the_image_beside_z_is_refused(tmp_path):
    from shared.projects.selfcheck import measure_file

    path = tmp_path / "vae-project.keras"
    reading_bundle().save(path)            # not through save_model: built by hand, as a cheat would be
    parts = measure_file(STEM, path)
    assert all(p.points == 0 for p in parts)
    assert "from z alone" in parts[0].feedback["en"] and "solo a partir de z" in parts[0].feedback["es"]


def test_codes_wider_than_the_limit_are_refused_with_a_reason():
    from shared.projects import measure
    from shared.projects.models import MAX_LATENT

    with pytest.raises(measure.Refused, match=f"at most {MAX_LATENT}"):
        measure.check_encoder(np.zeros((4, MAX_LATENT + 1)), np.zeros((4, MAX_LATENT + 1)), 4)
