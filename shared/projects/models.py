"""Save, load and call the models of the graded projects (Keras or PyTorch).

A project is graded from one saved file, never by re-running the notebook:

* **Keras**: a ``.keras`` file (``model.save``), loaded with ``safe_mode=True``
  -- so the model must be built from Keras's own layers (no ``Lambda``, no
  custom ``Layer`` classes, whose code the grader does not have);
* **PyTorch**: a TorchScript ``.pt`` file (``torch.jit.script``, or
  ``torch.jit.trace`` when scripting fails), which holds its own code.

What each project's file computes (``n`` examples per call):

=======  ====================================================================
``mdn``  hand positions ``(n, 2)`` -> mixture parameters ``(n, 5K)``:
         ``[logits (K) | means (K x 2) | log standard deviations (K x 2)]``,
         the means and log-sigmas component by component
         (``mu[:, k] = params[:, K + 2k : K + 2k + 2]``)
``vae``  ``(images, z)`` -> ``(mu, log_var, logits)``: the encoder's Gaussian
         ``q(z | images)`` (``(n, d)`` each) and the decoder's Bernoulli
         logits at ``z`` (784 per row); :func:`save_model` builds this pair
         from your encoder and decoder
``gan``  codes ``z ~ N(0, I)`` ``(n, d)`` -> images with pixels in ``[0, 1]``
         (784 per row, any of the shapes ``(n, 28, 28)``, ``(n, 28, 28, 1)``,
         ``(n, 1, 28, 28)``, ``(n, 784)``)
=======  ====================================================================

Images go into Keras encoders with the shape of their first input
(``(n, 28, 28, 1)``, ``(n, 28, 28)`` or ``(n, 784)``) and into PyTorch
encoders as ``(n, 1, 28, 28)``, all ``float32`` in ``[0, 1]``.

This module is the only one of :mod:`shared.projects` that runs in the
grader's sandboxed kernel (:class:`Prober`); it imports neither the data nor
the measurements.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

KINDS = ("mdn", "vae", "gan")
EXTENSIONS = (".keras", ".pt")
#: Latent dimensions above this are refused (the grader draws codes this wide and uses the first d).
MAX_LATENT = 512
#: Rows per call of the model (bounds the memory of one call).
CHUNK = 500
#: Name of the metadata file inside a TorchScript archive.
META_FILE = "course.json"


class ModelFileError(ValueError):
    """A model that cannot be saved, loaded or called as its project requires (says what to do)."""


def _framework(model: Any) -> str:
    mod = type(model).__module__
    if mod.startswith(("keras", "tf_keras", "tensorflow")):
        return "keras"
    if mod.startswith("torch"):
        return "torch"
    try:
        import torch
        if isinstance(model, torch.nn.Module):
            return "torch"
    except ImportError:
        pass
    try:
        import keras
        if isinstance(model, keras.Model):
            return "keras"
    except ImportError:
        pass
    raise ModelFileError(f"cannot save a {type(model).__name__}: pass a keras.Model or a torch.nn.Module.")


def _check_path(path: str | os.PathLike, framework: str) -> Path:
    path = Path(path)
    want = ".keras" if framework == "keras" else ".pt"
    if path.suffix != want:
        raise ModelFileError(f"a {framework} model is saved to a '{want}' file; got {path.name!r}. "
                             f"Use e.g. {path.with_suffix(want).name!r}.")
    return path


def _keras_vae_bundle(encoder: Any, decoder: Any) -> Any:
    import keras

    x = keras.Input(shape=tuple(encoder.inputs[0].shape[1:]), name="images")
    z = keras.Input(shape=tuple(decoder.inputs[0].shape[1:]), name="z")
    mu, log_var = encoder(x)
    return keras.Model([x, z], [mu, log_var, decoder(z)], name="vae_bundle")


def _torch_vae_bundle(encoder: Any, decoder: Any) -> Any:
    import torch

    class VAEBundle(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module, decoder: torch.nn.Module):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder

        def forward(self, x: torch.Tensor, z: torch.Tensor):
            mu, log_var = self.encoder(x)
            return mu, log_var, self.decoder(z)

    return VAEBundle(encoder, decoder)


def save_model(model: Any, path: str | os.PathLike, kind: str, latent_dim: int | None = None) -> Path:
    """Save a project's model so that the grader can load it, and check that it reloads.

    Parameters
    ----------
    model : keras.Model or torch.nn.Module, or a pair (encoder, decoder) for ``kind="vae"``
        What the project asks for (see the module's table).
    path : str or Path
        ``*.keras`` for Keras, ``*.pt`` for PyTorch.
    kind : {"mdn", "vae", "gan"}
    latent_dim : int, optional
        PyTorch ``gan``/``vae`` only: the dimension of ``z`` (Keras models say
        it in their input shape).

    Returns
    -------
    Path
        The saved file.

    Raises
    ------
    ModelFileError
        With what to change when the model cannot be saved or does not reload
        identically (custom Keras layers, TorchScript failures...).
    """
    if kind not in KINDS:
        raise ModelFileError(f"kind must be one of {KINDS}, got {kind!r}")
    parts = tuple(model) if kind == "vae" and isinstance(model, (tuple, list)) else None
    if kind == "vae" and (parts is None or len(parts) != 2):
        raise ModelFileError("for the VAE project pass the pair (encoder, decoder).")
    framework = _framework(parts[0] if parts else model)
    path = _check_path(path, framework)
    if framework == "keras":
        to_save = _keras_vae_bundle(*parts) if parts else model
        try:
            to_save.save(path)
        except Exception as exc:
            raise ModelFileError(f"Keras could not save the model ({type(exc).__name__}: {exc}).") from None
        latent = int(to_save.inputs[-1].shape[-1]) if kind in ("vae", "gan") else None
    else:
        import torch

        to_save = _torch_vae_bundle(*parts) if parts else model
        if kind in ("vae", "gan") and not (isinstance(latent_dim, int) and 0 < latent_dim <= MAX_LATENT):
            raise ModelFileError(f"a PyTorch {kind} model needs latent_dim= (the dimension of z, "
                                 f"1..{MAX_LATENT}); got {latent_dim!r}.")
        latent = latent_dim
        was_training = to_save.training
        to_save.eval()
        try:
            try:
                scripted = torch.jit.script(to_save)
            except Exception:
                scripted = torch.jit.trace(to_save, _example_inputs(kind, latent), check_trace=False)
            meta = json.dumps({"kind": kind, "latent_dim": latent})
            torch.jit.save(scripted, str(path), _extra_files={META_FILE: meta})
        except Exception as exc:
            raise ModelFileError(f"PyTorch could not save the model as TorchScript ({type(exc).__name__}: "
                                 f"{str(exc)[:300]}). Keep forward() to tensor operations.") from None
        finally:
            to_save.train(was_training)
    # the file must give the same outputs as the model in memory
    reloaded = load_model(path, kind)
    if kind in ("vae", "gan") and reloaded.latent_dim != latent:
        raise ModelFileError(f"the saved model's latent dimension is {reloaded.latent_dim}, expected {latent}.")
    example = _example_inputs(kind, reloaded.latent_dim, as_numpy=True)
    direct = LoadedModel(kind, framework, to_save, latent, 0).call_raw(example)
    again = reloaded.call_raw(example)
    for a, b in zip(direct, again):
        if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True):
            raise ModelFileError(
                "the saved file does not give the same outputs as the model in memory. "
                "Keras: use only Keras's own layers (no Lambda, no custom Layer classes); "
                "PyTorch: avoid Python control flow that depends on values, or random numbers in forward().")
    return path


def _example_inputs(kind: str, latent: int | None, as_numpy: bool = False, n: int = 4) -> Any:
    """A small batch of inputs: NumPy arrays, or torch tensors (for ``torch.jit.trace``)."""
    rng = np.random.default_rng(0)
    if kind == "mdn":
        arrays = [rng.uniform(0.2, 1.2, (n, 2)).astype(np.float32)]
    elif kind == "gan":
        arrays = [rng.standard_normal((n, latent)).astype(np.float32)]
    else:
        images = rng.uniform(0, 1, (n, 1, 28, 28)).astype(np.float32)
        arrays = [images, rng.standard_normal((n, latent)).astype(np.float32)]
    if as_numpy:
        return arrays
    import torch

    tensors = tuple(torch.from_numpy(a) for a in arrays)
    return tensors if len(tensors) > 1 else tensors[0]


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)


def _outputs(out: Any) -> list[np.ndarray]:
    if isinstance(out, (list, tuple)):
        return [_to_numpy(o).astype(np.float32) for o in out]
    return [_to_numpy(out).astype(np.float32)]


def _keras_image_input(images: np.ndarray, shape: tuple) -> np.ndarray:
    n = len(images)
    return images.reshape((n,) + tuple(int(s) for s in shape[1:]))


@dataclass
class LoadedModel:
    """A saved project model, called with NumPy arrays (see :meth:`__call__`)."""

    kind: str
    framework: str
    model: Any
    latent_dim: int | None
    n_params: int

    def arrays(self) -> list[np.ndarray]:
        """Every weight array of the model (Keras weights; PyTorch parameters and buffers)."""
        if self.framework == "keras":
            return [np.asarray(w) for w in self.model.weights]
        return [t.detach().cpu().numpy() for t in (*self.model.parameters(), *self.model.buffers())]

    def call_raw(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """The model's outputs (as float32 arrays) for one batch of inputs."""
        if self.framework == "keras":
            if self.kind == "vae":
                arrays = [_keras_image_input(arrays[0], self.model.inputs[0].shape), arrays[1]]
                return _outputs(self.model(arrays, training=False))
            return _outputs(self.model(arrays[0], training=False))
        import torch

        if self.kind == "vae":  # PyTorch encoders take (n, 1, 28, 28)
            arrays = [arrays[0].reshape(-1, 1, 28, 28), arrays[1]]
        with torch.no_grad():
            return _outputs(self.model(*[torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]))

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Outputs for inputs of any length, in chunks of :data:`CHUNK` rows.

        ``mdn``: ``(hands,)`` -> ``[params (n, 5K)]``; ``gan``: ``(z,)`` ->
        ``[images (n, 784)]``; ``vae``: ``(images (n, 784), z)`` ->
        ``[mu, log_var, logits (n, 784)]``. Codes wider than the model's
        latent dimension are cut to it.
        """
        arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
        if self.kind in ("gan", "vae"):
            arrays[-1] = np.ascontiguousarray(arrays[-1][:, :self.latent_dim])
        n = len(arrays[0])
        pieces: list[list[np.ndarray]] = []
        for start in range(0, n, CHUNK):
            pieces.append(self.call_raw([a[start:start + CHUNK] for a in arrays]))
        outs = [np.concatenate([p[i] for p in pieces]) for i in range(len(pieces[0]))]
        if self.kind == "gan":
            outs = [outs[0].reshape(n, -1)]
        elif self.kind == "vae":
            outs = [outs[0].reshape(n, -1), outs[1].reshape(n, -1), outs[2].reshape(n, -1)]
        return outs


def load_model(path: str | os.PathLike, kind: str) -> LoadedModel:
    """Load a file written by :func:`save_model` (``.keras`` or TorchScript ``.pt``).

    Raises
    ------
    ModelFileError
        If the file is missing, is not a model of this kind, or needs code the
        file does not contain.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"no model file {path.name!r}: run the notebook's save cell first.")
    if path.suffix == ".keras":
        import keras

        try:
            model = keras.models.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:
            raise ModelFileError(
                f"{path.name} is not a Keras model the grader can load ({type(exc).__name__}: {str(exc)[:300]}). "
                "Build the model from Keras's own layers (no Lambda, no custom Layer classes) "
                "and save it with save_model.") from None
        n_inputs = len(model.inputs)
        if n_inputs != (2 if kind == "vae" else 1):
            raise ModelFileError(f"{path.name}: a {kind} model has {2 if kind == 'vae' else 1} input(s), "
                                 f"this one has {n_inputs}. Save it with save_model(..., kind={kind!r}).")
        latent = int(model.inputs[-1].shape[-1]) if kind in ("vae", "gan") else None
        n_params = int(model.count_params())
        framework = "keras"
    elif path.suffix == ".pt":
        import torch

        extra = {META_FILE: ""}
        try:
            model = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        except Exception as exc:
            raise ModelFileError(
                f"{path.name} is not a TorchScript model ({type(exc).__name__}: {str(exc)[:200]}). "
                "Save the model with save_model (a state_dict or torch.save of the module is not enough: "
                "the grader does not have your class's code).") from None
        try:
            meta = json.loads(extra[META_FILE] or "{}")
        except (ValueError, TypeError):
            meta = {}
        if meta.get("kind") != kind:
            raise ModelFileError(f"{path.name} was not saved by save_model(..., kind={kind!r}) "
                                 f"(it says kind={meta.get('kind')!r}).")
        latent = meta.get("latent_dim") if kind in ("vae", "gan") else None
        model.eval()
        n_params = int(sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers()))
        framework = "torch"
    else:
        raise ModelFileError(f"{path.name}: a model file ends in .keras (Keras) or .pt (PyTorch TorchScript).")
    if kind in ("vae", "gan") and not (isinstance(latent, int) and 0 < latent <= MAX_LATENT):
        raise ModelFileError(f"{path.name}: the latent dimension must be 1..{MAX_LATENT}, got {latent!r}.")
    return LoadedModel(kind, framework, model, latent, n_params)


def find_model_file(folder: Path, stems: list[str]) -> Path | None:
    """The first ``<folder>/<stem><ext>`` that exists, for each stem in order, each extension."""
    for stem in stems:
        for ext in EXTENSIONS:
            candidate = folder / f"{stem}{ext}"
            if candidate.is_file() and not candidate.is_symlink():
                return candidate
    return None


def compute_phase(model: LoadedModel, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model's outputs for one phase of inputs (the grader's kernel and the self-check both use it).

    ``mdn``/``gan``: every array ``name`` -> output ``name``. ``vae``: every
    ``x_<set>`` (with ``z_<set>``, zeros if absent) -> ``mu_<set>``,
    ``logvar_<set>``, ``logits_<set>``.
    """
    out: dict[str, np.ndarray] = {}
    if model.kind == "vae":
        for name in [k[2:] for k in inputs if k.startswith("x_")]:
            z = inputs.get(f"z_{name}", np.zeros((len(inputs[f"x_{name}"]), MAX_LATENT), np.float32))
            mu, log_var, logits = model(inputs[f"x_{name}"], z)
            out.update({f"mu_{name}": mu, f"logvar_{name}": log_var, f"logits_{name}": logits})
    else:
        for name, array in inputs.items():
            out[name] = model(array)[0]
    return out


class Prober:
    """Runs in the grader's sandboxed kernel: loads the model and computes outputs for the inputs.

    The grader writes ``<io>/inputs/<phase>.npz``; :meth:`run` writes
    ``<io>/outputs/<phase>.npz`` (the outputs, one array per input name) or
    ``<io>/outputs/<phase>.error.txt`` (why not). :meth:`__init__` writes
    ``<io>/outputs/meta.json`` (framework, latent dimension, parameters) or
    ``load.error.txt``.
    """

    def __init__(self, kind: str, model_path: str, io_dir: str):
        self.kind, self.io = kind, Path(io_dir)
        self.model: LoadedModel | None = None
        try:
            self.model = load_model(model_path, kind)
            meta = {"framework": self.model.framework, "latent_dim": self.model.latent_dim,
                    "n_params": self.model.n_params}
            (self.io / "outputs" / "meta.json").write_text(json.dumps(meta))
        except Exception as exc:
            self._error("load", exc)
            return
        wanted = self.io / "inputs" / "fingerprint-shapes.json"
        if wanted.is_file():  # the grader compares them with the course's stored models (shared.projects.fingerprint)
            try:
                from shared.projects.fingerprint import submission_sketches

                sketches = submission_sketches(self.model.arrays(), set(json.loads(wanted.read_text())))
                np.savez(self.io / "outputs" / "sketches.npz", **sketches)
            except Exception as exc:
                self._error("sketches", exc)

    def _error(self, phase: str, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, ModelFileError) else \
            f"{type(exc).__name__}: {str(exc)[:400]}\n{traceback.format_exc(limit=3)[-600:]}"
        (self.io / "outputs" / f"{phase}.error.txt").write_text(text[:2000])

    def run(self, phase: str) -> None:
        """Outputs of every input array of ``inputs/<phase>.npz`` (names ``<what>_<set>``)."""
        if self.model is None:
            return
        try:
            with np.load(self.io / "inputs" / f"{phase}.npz", allow_pickle=False) as f:
                inputs = {k: f[k] for k in f.files}
            np.savez(self.io / "outputs" / f"{phase}.npz", **compute_phase(self.model, inputs))
        except Exception as exc:
            self._error(phase, exc)


__all__ = ["CHUNK", "EXTENSIONS", "KINDS", "LoadedModel", "MAX_LATENT", "ModelFileError", "Prober", "compute_phase",
           "find_model_file", "load_model", "save_model"]
