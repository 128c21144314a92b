"""Graded projects: the arm's data process, saving/loading models, the measurements and their refusals,
and grading end to end (the solution's saved model scores full marks; cheats and broken models score 0).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from projects_support import FULL_PROJECTS, ROOT, grade, make_folders, part, run_notebook

from shared import arm
from shared.projects import bands, measure
from shared.projects.models import ModelFileError, load_model, save_model


# ---------------------------------------------------------------------------
# The arm
# ---------------------------------------------------------------------------

def test_both_postures_reach_the_hand_and_differ_by_the_elbow():
    hands = arm.sample_hands(500, np.random.default_rng(0))
    postures = arm.inverse_kinematics(hands)
    for b in (0, 1):
        np.testing.assert_allclose(arm.forward_kinematics(postures[:, b]), hands, atol=1e-9)
    assert np.all(postures[:, 0, 1] < -0.5) and np.all(postures[:, 1, 1] > 0.5)   # elbow up / down apart
    assert np.all(np.abs(postures[..., 0]) < np.pi)                               # no angle wraps around


def test_data_process_is_seeded_and_follows_its_elbow_probability():
    a, b = arm.sample_arm(20_000, seed=3), arm.sample_arm(20_000, seed=3)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert a.inputs.dtype == np.float32 and a.targets.shape == (20_000, 2)
    up = a.targets[:, 1] < 0
    assert abs(up.mean() - arm.elbow_up_probability(a.inputs).mean()) < 0.02
    reaching_up = a.inputs[:, 1] > 0.5
    assert up[reaching_up].mean() > 0.7 > up[~reaching_up].mean()
    with pytest.raises(ValueError, match="positive integer"):
        arm.sample_arm(0)


def test_bayes_nll_is_the_lowest_expected_nll():
    data = arm.sample_arm(20_000, seed=5)
    bayes = arm.bayes_nll(data.inputs, data.targets).mean()
    w, mu, sigma = arm.true_mixture(data.inputs)
    for wrong in [(w, mu + 0.05, sigma), (w, mu, sigma * 1.3), (np.full_like(w, 0.5), mu, sigma)]:
        nll = arm.gaussian_mixture_nll(np.log(wrong[0]), wrong[1], np.log(wrong[2]), data.targets).mean()
        assert nll > bayes + 0.005
    # the closed form matches a Monte Carlo estimate of the entropy of the true mixture
    assert -1.4 < bayes < -1.2


# ---------------------------------------------------------------------------
# Saving and loading
# ---------------------------------------------------------------------------

def keras_mdn(k=2, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(16, activation="tanh"),
                             keras.layers.Dense(5 * k)])


def test_keras_and_torch_models_round_trip(tmp_path):
    import torch

    path = save_model(keras_mdn(), tmp_path / "m.keras", "mdn")
    loaded = load_model(path, "mdn")
    assert loaded.framework == "keras" and loaded(np.zeros((1201, 2)))[0].shape == (1201, 10)
    gen = torch.nn.Sequential(torch.nn.Linear(8, 784), torch.nn.Sigmoid(), torch.nn.Unflatten(1, (1, 28, 28)))
    path = save_model(gen, tmp_path / "g.pt", "gan", latent_dim=8)
    loaded = load_model(path, "gan")
    assert loaded.latent_dim == 8 and loaded(np.zeros((3, 512)))[0].shape == (3, 784)


def test_vae_encoder_and_decoder_are_saved_as_one_model_in_both_frameworks(tmp_path):
    import torch

    from shared.vae import build_decoder, build_encoder

    loaded = load_model(save_model((build_encoder(4), build_decoder(4)), tmp_path / "v.keras", "vae"), "vae")
    assert loaded.latent_dim == 4
    assert [o.shape for o in loaded(np.zeros((3, 784)), np.zeros((3, 512)))] == [(3, 4), (3, 4), (3, 784)]

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 6))

        def forward(self, x):
            h = self.layer(x)
            return h[:, :3], h[:, 3:]

    path = save_model((Encoder(), torch.nn.Linear(3, 784)), tmp_path / "v.pt", "vae", latent_dim=3)
    assert [o.shape for o in load_model(path, "vae")(np.zeros((3, 784)), np.zeros((3, 512)))] == \
        [(3, 3), (3, 3), (3, 784)]


def test_files_the_grader_cannot_use_are_refused_with_what_to_do(tmp_path):
    import keras
    import torch

    lam = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)])
    with pytest.raises(ModelFileError, match="Lambda"):
        save_model(lam, tmp_path / "lam.keras", "mdn")
    with pytest.raises(ModelFileError, match="'.pt'"):
        save_model(torch.nn.Linear(2, 10), tmp_path / "m.keras", "mdn")
    torch.save(torch.nn.Linear(2, 10).state_dict(), tmp_path / "state.pt")
    with pytest.raises(ModelFileError, match="TorchScript"):
        load_model(tmp_path / "state.pt", "mdn")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a Keras model"):
        load_model(tmp_path / "junk.keras", "mdn")
    save_model(torch.nn.Linear(2, 10), tmp_path / "mdn.pt", "mdn")
    with pytest.raises(ModelFileError, match="kind='gan'"):
        load_model(tmp_path / "mdn.pt", "gan")
    with pytest.raises(ModelFileError, match="run the notebook's save cell"):
        load_model(tmp_path / "absent.keras", "mdn")


# ---------------------------------------------------------------------------
# Measurements and refusals
# ---------------------------------------------------------------------------

def true_params(hands):
    """The true mixture as [logits | means | log-sigmas] rows (K = 2)."""
    w, mu, sigma = arm.true_mixture(hands)
    return np.concatenate([np.log(w), mu.reshape(len(hands), 4), np.log(sigma).reshape(len(hands), 4)], axis=1)


def test_true_mixture_scores_full_marks_and_one_branch_fails_coverage():
    rng = np.random.default_rng(1)
    hands = arm.sample_hands(500, rng)
    params = true_params(hands)
    mix = measure.split_mdn_params(params, len(hands))
    assert measure.branch_coverage(mix, hands, rng).passed
    one = params.copy()
    one[:, :2] = [0.0, -30.0]           # all the weight on elbow up
    cov = measure.branch_coverage(measure.split_mdn_params(one, len(hands)), hands, rng)
    assert not cov.passed and cov.missed > 0.3
    between = params.copy()
    between[:, 2:6] = np.tile(params[:, 2:6].reshape(-1, 2, 2).mean(axis=1), 2)   # both means in between
    cov = measure.branch_coverage(measure.split_mdn_params(between, len(hands)), hands, rng)
    assert not cov.passed and cov.off > 0.5


@pytest.mark.parametrize("params, match", [
    (np.zeros((10, 7)), "shape"),
    (np.full((10, 10), np.nan), "NaN"),
    (np.concatenate([np.zeros((10, 6)), np.full((10, 4), -50.0)], axis=1), "clip log-sigma"),
])
def test_malformed_mdn_outputs_are_refused(params, match):
    with pytest.raises(measure.Refused, match=match):
        measure.split_mdn_params(params, 10)


def test_models_that_ignore_their_input_or_change_between_calls_are_refused():
    with pytest.raises(measure.Refused, match="ignores its input"):
        measure.check_depends_on_input(np.ones((50, 10)), "hand", "mano")
    measure.check_depends_on_input(np.arange(50.0)[:, None] * np.ones((50, 10)), "hand", "mano")
    x = np.random.default_rng(0).normal(size=(50, 10))
    with pytest.raises(measure.Refused, match="change between calls"):
        measure.check_repeatable(x, x + 0.1)
    measure.check_repeatable(x, x + 1e-6)


def test_images_outside_the_unit_range_are_refused_with_the_tanh_hint():
    with pytest.raises(measure.Refused, match="tanh"):
        measure.check_images(np.full((4, 784), -0.5), 4)
    with pytest.raises(measure.Refused, match="shape"):
        measure.check_images(np.zeros((4, 100)), 4)


def test_copies_of_the_data_are_refused_and_new_images_are_not():
    from shared.data import load_fashion_mnist

    data = load_fashion_mnist(validation=0)
    reference = measure.reference_set(data.x_train[:20_000].astype(np.float32) / 255)
    rng = np.random.default_rng(0)
    copies = data.x_train[:300].astype(np.float32) / 255
    for cheat in [copies, np.clip(copies + rng.normal(0, 0.02, copies.shape), 0, 1),
                  np.roll(copies, 1, axis=2), np.roll(copies, -1, axis=1), copies[:, :, ::-1], 0.8 * copies]:
        with pytest.raises(measure.Refused, match="copies"):
            measure.check_not_copies(cheat.astype(np.float32), reference)
    # images the reference does not hold: test images (a few near duplicates exist in Fashion-MNIST)
    fraction = measure.check_not_copies(data.x_test[:300].astype(np.float32) / 255, reference)
    assert fraction <= bands.COPIES.max_fraction


def test_a_generator_whose_samples_repeat_is_refused_and_distinct_images_are_not():
    from shared.data import load_fashion_mnist

    x = load_fashion_mnist(validation=0).x_test[:2000].astype(np.float32) / 255
    assert measure.check_distinct(x) <= bands.COPIES.max_fraction
    stored = (x[:500] ** 0.5)[np.random.default_rng(0).integers(0, 500, 2000)]   # any transformation
    with pytest.raises(measure.Refused, match="repeat"):
        measure.check_distinct(stored)


# ---------------------------------------------------------------------------
# Grading end to end (sandboxed kernels)
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mdn_submissions(tmp_path_factory) -> dict[str, dict]:
    """Grade the solution (at the quick budget in ``make test``, the full one in ``make test-projects``), the
    blank exercise and models that must not score."""
    import torch

    base = tmp_path_factory.mktemp("mdn-submissions")
    folders = make_folders(base, "mdn-project", ["solution", "blank", "untrained", "nan", "constant", "junk",
                                                 "noisy", "huge"])
    run_notebook(ROOT / "solutions/en/mdn-project.ipynb", folders["solution"], quick=not FULL_PROJECTS)
    save_model(keras_mdn(3), folders["untrained"] / "mdn-project.keras", "mdn")
    nan = keras_mdn(3)
    nan.layers[-1].set_weights([w * np.nan for w in nan.layers[-1].get_weights()])
    save_model(nan, folders["nan"] / "mdn-project.keras", "mdn")
    constant = keras_mdn(3)
    constant.layers[0].set_weights([np.zeros_like(w) for w in constant.layers[0].get_weights()])
    save_model(constant, folders["constant"] / "mdn-project.keras", "mdn")
    (folders["junk"] / "mdn-project.keras").write_bytes(os.urandom(4096))

    class Noisy(torch.nn.Module):   # different outputs at every call: not a function of the hand
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 10)

        def forward(self, x):
            return self.layer(x) + torch.randn(x.shape[0], 10)

    scripted = torch.jit.script(Noisy())
    torch.jit.save(scripted, str(folders["noisy"] / "mdn-project.pt"),
                   _extra_files={"course.json": json.dumps({"kind": "mdn", "latent_dim": None})})
    with open(folders["huge"] / "mdn-project.keras", "wb") as f:
        f.truncate(int((bands.LIMITS.file_mb + 1) * 2 ** 20))
    return grade(list(folders.values()), base / "results")


def test_the_solutions_saved_model_is_graded_and_at_full_budget_earns_full_marks(mdn_submissions):
    r = mdn_submissions["solution"]
    assert r["error"] is None and r["max_points"] == 10, r
    if FULL_PROJECTS:
        assert r["points"] == 10, r
    else:  # quick budget: a briefly trained model is measured (its NLL gap to Bayes), not refused
        assert "gap" in part(r, "nll")["feedback"], r
    assert "Solution's report" in part(r, "report")["feedback"]


@pytest.mark.parametrize("name, why", [
    ("blank", "no model file"),
    ("junk", "could not be loaded"),
    ("huge", "above the limit"),
    ("nan", "NaN"),
    ("constant", "ignores its input"),
    ("noisy", "change between calls"),
])
def test_models_that_did_not_earn_a_score_get_zero_and_say_why(mdn_submissions, name, why):
    r = mdn_submissions[name]
    assert r["points"] == 0, r
    assert why in part(r, "nll")["feedback"], part(r, "nll")["feedback"]
    assert part(r, "nll")["feedback_by_lang"]["es"] != part(r, "nll")["feedback_by_lang"]["en"]
    assert "no report" in part(r, "report")["feedback"]


def test_an_untrained_model_scores_by_the_bands_as_documented(mdn_submissions):
    r = mdn_submissions["untrained"]
    assert part(r, "nll")["points"] == 0 and "gap" in part(r, "nll")["feedback"]
    assert part(r, "coverage")["points"] == 0 and "not covered" in part(r, "coverage")["feedback"]


def test_gradebook_names_students_by_folder_when_files_keep_the_project_name():
    from shared.grading.reports import gradebook_rows
    from shared.grading.runner import SubmissionResult

    results = [SubmissionResult("class/alice/mdn-project.ipynb", "mdn-project"),
               SubmissionResult("class/bob.ipynb", "mdn-project")]
    _, rows = gradebook_rows(results)
    assert [r["student"] for r in rows] == ["alice", "bob"]
