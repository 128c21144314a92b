"""The GAN project graded end to end: the solution's saved generator earns full marks; the blank, an
untrained generator, a NaN one, ones that return stored training images (as they are, mirrored, or
transformed beyond the copy check's reach), one that ignores its code, a tanh generator that was not rescaled and the course's own stored DCGAN (as stored, or
with noise) score as documented (docs/teacher-grading.md, "Graded projects")."""

from __future__ import annotations

import numpy as np
import pytest
from projects_support import FULL_PROJECTS, ROOT, grade, keras_lookup, make_folders, part, run_notebook, stored_images

from shared.projects import bands
from shared.projects.models import save_model

STEM = "gan-project"


def dcgan_generator(seed: int = 0, unit: bool = True):
    """A small untrained DCGAN-style generator (tanh); ``unit``: rescaled from [-1, 1] to [0, 1]."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((32,)), keras.layers.Dense(7 * 7 * 32), keras.layers.Reshape((7, 7, 32)),
              keras.layers.BatchNormalization(), keras.layers.ReLU(),
              keras.layers.Conv2DTranspose(1, 3, strides=4, padding="same", activation="tanh")]
    if unit:
        layers.append(keras.layers.Rescaling(0.5, offset=0.5))
    return keras.Sequential(layers)


def course_dcgan(noise: float = 0.0):
    """The GAN chapter's DCGAN generator with the weights stored with the course (long_runs/gan/dcgan.npz),
    rescaled to [0, 1]: what a student who skips training could save (it scored 10/10 before the fingerprint check);
    ``noise``: each array plus Gaussian noise of that share of its standard deviation."""
    import keras
    from keras import layers

    generator = keras.Sequential([
        keras.Input(shape=(100,)), layers.Dense(7 * 7 * 128), layers.Reshape((7, 7, 128)),
        layers.BatchNormalization(), layers.ReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same"), layers.BatchNormalization(), layers.ReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh")])
    rng = np.random.default_rng(0)
    with np.load(ROOT / "long_runs" / "gan" / "dcgan.npz") as stored:
        arrays = [stored[f"model0/{j}"] for j in range(len(generator.weights))]
    generator.set_weights([a + noise * a.std() * rng.standard_normal(a.shape).astype(a.dtype) for a in arrays])
    return keras.Sequential([generator, layers.Rescaling(0.5, offset=0.5)])


@pytest.fixture(scope="module")
def gan_submissions(tmp_path_factory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("gan-submissions")
    folders = make_folders(base, STEM, ["solution", "blank", "untrained", "nan", "copies", "mirrored", "repeats",
                                        "constant", "tanh", "course", "course-noisy"])
    run_notebook(ROOT / "solutions" / "en" / f"{STEM}.ipynb", folders["solution"], quick=not FULL_PROJECTS)
    save_model(dcgan_generator(), folders["untrained"] / f"{STEM}.keras", "gan")
    nan = dcgan_generator()
    nan.layers[0].set_weights([w * np.nan for w in nan.layers[0].get_weights()])
    save_model(nan, folders["nan"] / f"{STEM}.keras", "gan")
    stored = stored_images()
    save_model(keras_lookup(stored, 16), folders["copies"] / f"{STEM}.keras", "gan")
    mirrored = stored.reshape(-1, 28, 28)[:, :, ::-1].reshape(-1, 784)
    save_model(keras_lookup(mirrored, 16), folders["mirrored"] / f"{STEM}.keras", "gan")
    save_model(keras_lookup(stored ** 0.5, 16), folders["repeats"] / f"{STEM}.keras", "gan")   # far from the data
    constant = dcgan_generator()
    kernel, bias = constant.layers[0].get_weights()
    constant.layers[0].set_weights([np.zeros_like(kernel), bias + 0.1])
    save_model(constant, folders["constant"] / f"{STEM}.keras", "gan")
    save_model(dcgan_generator(unit=False), folders["tanh"] / f"{STEM}.keras", "gan")
    save_model(course_dcgan(), folders["course"] / f"{STEM}.keras", "gan")
    save_model(course_dcgan(noise=0.05), folders["course-noisy"] / f"{STEM}.keras", "gan")
    return grade(list(folders.values()), base / "results")


def test_the_solutions_saved_generator_is_graded_and_at_full_budget_earns_full_marks(gan_submissions):
    r = gan_submissions["solution"]
    assert r["error"] is None and r["max_points"] == 10, r
    if FULL_PROJECTS:
        assert r["points"] == 10, r
    else:  # quick budget: an honest, barely trained model is measured, not refused
        assert "FID" in part(r, "fid")["feedback"], r
        assert "KL" in part(r, "coverage")["feedback"], r
    assert "Solution's report" in part(r, "report")["feedback"]


@pytest.mark.parametrize("name, why", [
    ("blank", "no model file"),
    ("nan", "NaN"),
    ("copies", "copies"),
    ("mirrored", "copies"),
    ("repeats", "repeat another sample"),
    ("constant", "ignores its input"),
    ("tanh", "tanh"),
    ("course", "stored with the course (gan/dcgan#0)"),
    ("course-noisy", "stored with the course (gan/dcgan#0)"),
])
def test_generators_that_did_not_earn_a_score_get_zero_and_say_why(gan_submissions, name, why):
    r = gan_submissions[name]
    assert r["points"] == 0, r
    assert why in part(r, "fid")["feedback"], part(r, "fid")["feedback"]
    assert part(r, "fid")["feedback_by_lang"]["es"] != part(r, "fid")["feedback_by_lang"]["en"]


def test_an_untrained_generator_scores_zero_by_the_bands(gan_submissions):
    r = gan_submissions["untrained"]
    assert part(r, "fid")["points"] == 0 and "FID" in part(r, "fid")["feedback"]
    assert part(r, "coverage")["points"] == 0 and "KL" in part(r, "coverage")["feedback"]


def test_copies_hidden_after_the_first_samples_are_found():
    """A model that behaves for the first calls and returns stored images later (it counts its calls)."""
    from shared.projects.evaluate import evaluate_gan

    rng = np.random.default_rng(0)
    honest_looking = rng.uniform(0, 1, (1000, 784)).astype(np.float32)      # distinct, far from the data
    images = np.concatenate([honest_looking, np.tile(stored_images(), (4, 1))])
    outputs = {"main": images, "again": images[:500][::-1], "other": rng.uniform(0, 1, (500, 784))}
    parts = evaluate_gan(outputs, seed=5)
    assert all(p.points == 0 for p in parts) and "copies" in parts[0].feedback["en"]


def test_a_lookup_of_transformed_images_with_noise_is_refused_and_a_real_generator_is_not(tmp_path):
    """Stored images under a gamma curve, plus noise that depends on z: far from the data for the copy
    check, never exactly repeated -- but the images jump along straight paths in z."""
    import keras

    from shared.projects import measure
    from shared.projects.evaluate import path_codes

    lookup = keras_lookup(stored_images(300) ** 0.5, 16)
    z = keras.Input((16,))
    noisy = keras.layers.ReLU(max_value=1.0)(keras.layers.Add()(
        [lookup(z), keras.layers.Rescaling(0.02)(keras.layers.Dense(784, use_bias=False)(z))]))
    path = save_model(keras.Model(z, noisy), tmp_path / "g.keras", "gan")
    from shared.projects.models import load_model

    codes = path_codes(np.random.default_rng(0))
    images = load_model(path, "gan")(codes)[0].reshape(bands.COPIES.n_paths, bands.COPIES.path_steps + 1, 784)
    with pytest.raises(measure.Refused, match="jump"):
        measure.check_smooth(images)
    smooth = load_model(save_model(dcgan_generator(), tmp_path / "d.keras", "gan"), "gan")(codes)[0]
    assert measure.check_smooth(smooth.reshape(images.shape)) < bands.COPIES.max_jump_share


def test_the_self_check_refuses_the_stored_dcgan_too(tmp_path):
    # the student sees the grader's refusal before handing in
    from shared.projects.selfcheck import measure_file

    path = tmp_path / f"{STEM}.keras"
    save_model(course_dcgan(), path, "gan")
    parts = measure_file(STEM, path)
    assert parts and all(p.points == 0 for p in parts)
    assert all("stored with the course (gan/dcgan#0)" in p.feedback["en"] for p in parts)
    assert all("guardado con el curso" in p.feedback["es"] for p in parts)
