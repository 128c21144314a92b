"""Dataset loaders: Fashion-MNIST and MNIST, verified, offline-friendly.

Every lesson gets its data in one visible line::

    data = load_fashion_mnist()
    x = data.x_train.astype("float32") / 255.0   # lessons scale images themselves

Images are returned as ``uint8`` arrays of shape ``(n, 28, 28)`` with values
0..255 and labels as ``uint8`` arrays of shape ``(n,)`` with values 0..9.
The validation split is the *last* ``validation`` images of the 60 000
official training images; the test split is the official 10 000 images.

Where the files come from
-------------------------
Fashion-MNIST (four IDX files, gzipped or not), first found wins:

1. ``$COURSE_DATA_DIR/fashion-mnist/``, then ``$COURSE_DATA_DIR/``;
2. ``/usr/share/datasets/fashion-mnist/`` (Debian/Ubuntu package
   ``dataset-fashion-mnist``);
3. the course cache ``<cache>/fashion-mnist/`` where ``<cache>`` is the
   ``cache_dir`` argument, else ``$XDG_CACHE_HOME/deep-generative-course``,
   else ``~/.cache/deep-generative-course``; then the Keras cache
   ``~/.keras/datasets/fashion-mnist/``;
4. a download (canonical source, then a mirror) into the course cache.

Every file, wherever it was found, is checked: its IDX header must match its
size, and the SHA-256 of its *decompressed* content must match
:data:`FASHION_SHA256` (Debian re-compresses the ``.gz`` files, so hashing
the compressed bytes would reject the genuine Debian copy). Hashing the
decompressed 55 MB costs a few hundredths of a second, so it is done on each
load; decompression (~0.3-0.8 s) dominates the load time.

MNIST has no Debian package. Sources, first found wins:
``$COURSE_DATA_DIR/mnist.npz``, ``$COURSE_DATA_DIR/mnist/mnist.npz``, the
four IDX files in ``$COURSE_DATA_DIR/mnist/``, the course cache
``<cache>/mnist/mnist.npz``, the Keras cache ``~/.keras/datasets/mnist.npz``,
else a download of the Keras ``mnist.npz``. A ``mnist.npz`` must match
:data:`MNIST_NPZ_SHA256`. MNIST IDX files are only checked structurally
(header, sizes, 28x28 images, labels 0..9): their checksums are not known to
this module, so they are trusted once they are well-formed.

Any problem raises :class:`DataError` with a message that says what is wrong,
which file, and what to do about it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

__all__ = [
    "Dataset",
    "DataError",
    "FASHION_CLASSES",
    "load_fashion_mnist",
    "load_mnist",
]

FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

DATA_DIR_ENV = "COURSE_DATA_DIR"
CACHE_NAME = "deep-generative-course"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DEBIAN_PACKAGE = "dataset-fashion-mnist"

N_TRAIN = 60_000
N_TEST = 10_000
IMAGE_SHAPE = (28, 28)
N_CLASSES = 10

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES: tuple[str, ...] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# SHA-256 of the DECOMPRESSED IDX files (computed from the Debian package
# dataset-fashion-mnist, whose headers and label counts were checked).
FASHION_SHA256: dict[str, str] = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

FASHION_URLS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
)

MNIST_NPZ = "mnist.npz"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

DOWNLOAD_TIMEOUT = 60.0  # seconds

INSTALL_HINT = (
    "To get the data, do one of:\n"
    f"  * on Debian/Ubuntu: sudo apt-get install {DEBIAN_PACKAGE}\n"
    f"  * put the four files (gzipped or not) in a folder and set {DATA_DIR_ENV}"
    " to that folder;\n"
    "  * connect to the internet and run again (on Colab the download just works)."
)
MNIST_INSTALL_HINT = (
    "To get the data, do one of:\n"
    f"  * put {MNIST_NPZ} (from {MNIST_URL}) in a folder and set {DATA_DIR_ENV}"
    " to that folder;\n"
    "  * connect to the internet and run again (on Colab the download just works)."
)


class DataError(RuntimeError):
    """A dataset is missing, corrupt or could not be downloaded.

    The message says which file, where it was found and what to do.
    """


class Dataset(NamedTuple):
    """Train/validation/test splits of a 28x28 image dataset.

    Images are ``uint8`` (0..255, *not* scaled); labels are ``uint8`` (0..9).

    Attributes
    ----------
    x_train : np.ndarray, shape (60000 - validation, 28, 28), uint8
    y_train : np.ndarray, shape (60000 - validation,), uint8
    x_valid : np.ndarray, shape (validation, 28, 28), uint8
    y_valid : np.ndarray, shape (validation,), uint8
    x_test : np.ndarray, shape (10000, 28, 28), uint8
    y_test : np.ndarray, shape (10000,), uint8
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class _Place(NamedTuple):
    """A folder where data files may be found.

    Attributes
    ----------
    directory : Path
        The folder.
    origin : str
        Human-readable name of the source, used in messages.
    remedy : str
        What to do when a file found there is corrupt.
    """

    directory: Path
    origin: str
    remedy: str


# ---------------------------------------------------------------------------
# Public loaders
# ---------------------------------------------------------------------------


def load_fashion_mnist(validation: int = 5000, cache_dir: str | None = None) -> Dataset:
    """Load Fashion-MNIST (Zalando), verified against known checksums.

    Parameters
    ----------
    validation : int, default 5000
        Number of images held out for validation: the *last* ``validation``
        of the 60 000 training images. 0 gives empty validation arrays.
    cache_dir : str, optional
        Course cache folder (default ``$XDG_CACHE_HOME/deep-generative-course``
        or ``~/.cache/deep-generative-course``); files are looked up and
        downloaded in its ``fashion-mnist/`` subfolder.

    Returns
    -------
    Dataset
        ``x_*`` uint8 arrays of shape (n, 28, 28) with values 0..255 (scale
        them yourself), ``y_*`` uint8 arrays of shape (n,) with values 0..9;
        class names are in :data:`FASHION_CLASSES`.

    Raises
    ------
    ValueError
        If ``validation`` is not an int in [0, 60000).
    DataError
        If the data cannot be found or downloaded, or a file is corrupt.
    """
    _check_validation(validation)
    found = _find_fashion_files(cache_dir)
    missing = [name for name in IDX_FILES if found[name] is None]
    if missing:
        found.update(_download_fashion(missing, cache_dir))
    arrays = {name: _load_fashion_file(name, found[name]) for name in IDX_FILES}
    where, remedy = "Fashion-MNIST files", "Delete the odd file out and load again."
    _check_pairs(arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS], "train", where, remedy)
    _check_pairs(arrays[TEST_IMAGES], arrays[TEST_LABELS], "test", where, remedy)
    return _make_dataset(
        arrays[TRAIN_IMAGES],
        arrays[TRAIN_LABELS],
        arrays[TEST_IMAGES],
        arrays[TEST_LABELS],
        validation,
    )


def load_mnist(validation: int = 5000, cache_dir: str | None = None) -> Dataset:
    """Load MNIST (handwritten digits).

    Parameters
    ----------
    validation : int, default 5000
        Number of images held out for validation: the *last* ``validation``
        of the 60 000 training images. 0 gives empty validation arrays.
    cache_dir : str, optional
        Course cache folder (see :func:`load_fashion_mnist`); ``mnist.npz``
        is looked up and downloaded in its ``mnist/`` subfolder.

    Returns
    -------
    Dataset
        ``x_*`` uint8 arrays of shape (n, 28, 28) with values 0..255 (scale
        them yourself), ``y_*`` uint8 arrays of shape (n,) with values 0..9.

    Raises
    ------
    ValueError
        If ``validation`` is not an int in [0, 60000).
    DataError
        If the data cannot be found or downloaded, or a file is corrupt.

    Notes
    -----
    ``mnist.npz`` files are checked against :data:`MNIST_NPZ_SHA256`. IDX
    files in ``$COURSE_DATA_DIR/mnist/`` are only checked structurally
    (their checksums are not known here).
    """
    _check_validation(validation)
    data_dir = _course_data_dir()
    if data_dir is not None:
        arrays = _load_mnist_from_data_dir(data_dir)
        if arrays is not None:
            return _make_dataset(*arrays, validation)
    for place in _mnist_cache_places(cache_dir):
        path = place.directory / MNIST_NPZ
        if path.is_file():
            return _make_dataset(*_load_mnist_npz(path, place), validation)
    path = _download_mnist(cache_dir)
    return _make_dataset(*_load_mnist_npz(path, _mnist_cache_place(cache_dir)), validation)


# ---------------------------------------------------------------------------
# Arguments and splits
# ---------------------------------------------------------------------------


def _check_validation(validation: int) -> None:
    """Raise ValueError unless ``validation`` is an int in [0, 60000)."""
    is_int = isinstance(validation, (int, np.integer)) and not isinstance(validation, bool)
    if not is_int or not 0 <= validation < N_TRAIN:
        raise ValueError(
            f"validation={validation!r} is not allowed: it must be an int with "
            f"0 <= validation < {N_TRAIN} (number of training images held out "
            f"for validation; 0 means no validation set)."
        )


def _make_dataset(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    validation: int,
) -> Dataset:
    """Split the last ``validation`` training images off as validation set.

    Parameters
    ----------
    x_train : np.ndarray, shape (n, 28, 28), uint8
    y_train : np.ndarray, shape (n,), uint8
    x_test : np.ndarray, shape (m, 28, 28), uint8
    y_test : np.ndarray, shape (m,), uint8
    validation : int
        Number of held-out images, ``0 <= validation < n``.

    Returns
    -------
    Dataset
    """
    n_train = len(x_train) - validation
    if n_train <= 0:
        raise ValueError(
            f"validation={validation} leaves no training images: the data has "
            f"only {len(x_train)} training images."
        )
    return Dataset(
        x_train=x_train[:n_train],
        y_train=y_train[:n_train],
        x_valid=x_train[n_train:],
        y_valid=y_train[n_train:],
        x_test=x_test,
        y_test=y_test,
    )


# ---------------------------------------------------------------------------
# Places
# ---------------------------------------------------------------------------


def _course_data_dir() -> Path | None:
    """Return ``$COURSE_DATA_DIR`` as a Path, or None if unset or empty."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def _course_cache_dir(cache_dir: str | None) -> Path:
    """Return the course cache folder (not created).

    ``cache_dir`` if given, else ``$XDG_CACHE_HOME/deep-generative-course``,
    else ``~/.cache/deep-generative-course``.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / CACHE_NAME


def _keras_cache_dir() -> Path:
    """Return the usual Keras dataset cache ``~/.keras/datasets``."""
    return Path.home() / ".keras" / "datasets"


def _fashion_cache_place(cache_dir: str | None) -> _Place:
    """The course cache folder for Fashion-MNIST (where downloads go)."""
    return _Place(
        _course_cache_dir(cache_dir) / "fashion-mnist",
        "course cache",
        "Delete it; it will be downloaded again at the next load.",
    )


def _mnist_cache_place(cache_dir: str | None) -> _Place:
    """The course cache folder for MNIST (where downloads go)."""
    return _Place(
        _course_cache_dir(cache_dir) / "mnist",
        "course cache",
        "Delete it; it will be downloaded again at the next load.",
    )


def _fashion_places(cache_dir: str | None) -> list[_Place]:
    """Folders searched for Fashion-MNIST files, in order of precedence."""
    places: list[_Place] = []
    data_dir = _course_data_dir()
    if data_dir is not None:
        remedy = "Replace it with a genuine copy, or delete it."
        origin = f"{DATA_DIR_ENV}={data_dir}"
        places.append(_Place(data_dir / "fashion-mnist", origin, remedy))
        places.append(_Place(data_dir, origin, remedy))
    places.append(
        _Place(
            DEBIAN_FASHION_DIR,
            f"Debian package {DEBIAN_PACKAGE}",
            f"Reinstall the package: sudo apt-get install --reinstall {DEBIAN_PACKAGE}",
        )
    )
    places.append(_fashion_cache_place(cache_dir))
    places.append(
        _Place(
            _keras_cache_dir() / "fashion-mnist",
            "Keras cache",
            "Delete it; it will be downloaded again at the next load.",
        )
    )
    return places


def _mnist_cache_places(cache_dir: str | None) -> list[_Place]:
    """Cache folders searched for ``mnist.npz``: course cache, then Keras."""
    remedy = "Delete it; it will be downloaded again at the next load."
    return [_mnist_cache_place(cache_dir), _Place(_keras_cache_dir(), "Keras cache", remedy)]


def _find_in(directory: Path, name: str) -> Path | None:
    """Return ``directory/name.gz`` or ``directory/name`` if it is a file."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------
# Reading and checking files
# ---------------------------------------------------------------------------


def _read_raw(path: Path, where: str, remedy: str) -> bytes:
    """Return the content of ``path``, decompressed if it ends in ``.gz``.

    Raises
    ------
    DataError
        If the file cannot be read or is not valid gzip.
    """
    try:
        content = path.read_bytes()
    except OSError as err:
        raise DataError(f"Cannot read {path} ({where}): {err}") from err
    if path.suffix != ".gz":
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(
            f"{path} ({where}) is not a valid gzip file (corrupt or truncated: "
            f"{err}). {remedy}"
        ) from err


def _parse_idx(content: bytes, magic: int, path: Path, where: str, remedy: str) -> np.ndarray:
    """Parse an IDX file of unsigned bytes.

    Parameters
    ----------
    content : bytes
        Decompressed file content: big-endian header
        ``magic, dim_1, ..., dim_k`` (4 bytes each) then the data.
    magic : int
        Expected magic number: 2051 for images (k=3), 2049 for labels (k=1).
    path, where, remedy
        Used in error messages.

    Returns
    -------
    np.ndarray, shape (dim_1, ..., dim_k), uint8
        A writable array.

    Raises
    ------
    DataError
        On a wrong magic number or a size that does not match the header.
    """
    ndim = magic - 2048
    header_size = 4 + 4 * ndim
    prefix = f"{path} ({where}) is not a valid IDX file:"
    if len(content) < header_size:
        raise DataError(f"{prefix} only {len(content)} bytes, too short for a header. {remedy}")
    found_magic = int.from_bytes(content[:4], "big")
    if found_magic != magic:
        raise DataError(f"{prefix} magic number {found_magic}, expected {magic}. {remedy}")
    dims = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_size = header_size + int(np.prod(dims))
    if len(content) != expected_size:
        raise DataError(
            f"{prefix} the header announces shape {dims} ({expected_size} bytes) "
            f"but the file has {len(content)} bytes (truncated or corrupt). {remedy}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(dims).copy()


def _check_sha256(content: bytes, expected: str, path: Path, where: str, remedy: str) -> None:
    """Raise DataError unless the SHA-256 of ``content`` is ``expected``."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise DataError(
            f"Checksum mismatch for {path} ({where}): SHA-256 {actual}, expected "
            f"{expected}. The file is corrupt or not the genuine dataset. {remedy}"
        )


def _check_images(images: np.ndarray, path: Path, where: str, remedy: str) -> None:
    """Raise DataError unless ``images`` has shape (n, 28, 28)."""
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{path} ({where}) holds images of shape {images.shape[1:]}, expected "
            f"{IMAGE_SHAPE}. {remedy}"
        )


def _check_labels(labels: np.ndarray, path: Path, where: str, remedy: str) -> None:
    """Raise DataError unless all labels are in 0..9."""
    if labels.size and int(labels.max()) >= N_CLASSES:
        raise DataError(
            f"{path} ({where}) holds label {int(labels.max())}, expected labels "
            f"0..{N_CLASSES - 1}. {remedy}"
        )


def _check_pairs(
    images: np.ndarray, labels: np.ndarray, split: str, where: str, remedy: str
) -> None:
    """Raise DataError unless there are as many images as labels."""
    if len(images) != len(labels):
        raise DataError(
            f"The {split} files ({where}) hold {len(images)} images but "
            f"{len(labels)} labels. {remedy}"
        )


def _load_idx_file(name: str, path: Path, where: str, remedy: str) -> np.ndarray:
    """Read, parse and structurally check one IDX file (no checksum).

    Returns
    -------
    np.ndarray
        Images (n, 28, 28) or labels (n,), uint8.
    """
    content = _read_raw(path, where, remedy)
    return _parse_checked_idx(name, content, path, where, remedy)


def _parse_checked_idx(
    name: str, content: bytes, path: Path, where: str, remedy: str
) -> np.ndarray:
    """Parse decompressed IDX ``content`` and check shapes and labels."""
    if "images" in name:
        images = _parse_idx(content, IDX_IMAGES_MAGIC, path, where, remedy)
        _check_images(images, path, where, remedy)
        return images
    labels = _parse_idx(content, IDX_LABELS_MAGIC, path, where, remedy)
    _check_labels(labels, path, where, remedy)
    return labels


# ---------------------------------------------------------------------------
# Fashion-MNIST
# ---------------------------------------------------------------------------


class _Found(NamedTuple):
    """A located data file and the place it was found in."""

    path: Path
    place: _Place


def _find_fashion_files(cache_dir: str | None) -> dict[str, _Found | None]:
    """Locate each Fashion-MNIST file in the first place that has it.

    Returns
    -------
    dict
        File name (without ``.gz``) -> where it was found, or None.
    """
    places = _fashion_places(cache_dir)
    found: dict[str, _Found | None] = {}
    for name in IDX_FILES:
        found[name] = None
        for place in places:
            path = _find_in(place.directory, name)
            if path is not None:
                found[name] = _Found(path, place)
                break
    return found


def _load_fashion_file(name: str, found: _Found | None) -> np.ndarray:
    """Read one Fashion-MNIST file, check its structure and its checksum."""
    assert found is not None  # all files were found or downloaded
    path, place = found
    content = _read_raw(path, place.origin, place.remedy)
    array = _parse_checked_idx(name, content, path, place.origin, place.remedy)
    _check_sha256(content, FASHION_SHA256[name], path, place.origin, place.remedy)
    return array


def _download_fashion(names: list[str], cache_dir: str | None) -> dict[str, _Found]:
    """Download the missing Fashion-MNIST files into the course cache.

    Parameters
    ----------
    names : list of str
        Missing file names (without ``.gz``).
    cache_dir : str or None
        The ``cache_dir`` argument of the loader.

    Returns
    -------
    dict
        File name -> where the verified file now lies.
    """
    place = _fashion_cache_place(cache_dir)
    found: dict[str, _Found] = {}
    for name in names:
        urls = [base + f"{name}.gz" for base in FASHION_URLS]
        check = functools.partial(_check_fashion_download, name)
        try:
            path = _fetch_verified(urls, place.directory / f"{name}.gz", check)
        except _NetworkError as err:
            files = ", ".join(f"{missing}[.gz]" for missing in names)
            places = [f"{p.directory} ({p.origin})" for p in _fashion_places(cache_dir)]
            message = _not_found_message("Fashion-MNIST", files, places, err, INSTALL_HINT)
            raise DataError(message) from err.cause
        found[name] = _Found(path, place)
    return found


def _check_fashion_download(name: str, path: Path) -> None:
    """Raise DataError unless the downloaded ``path`` is the genuine ``name``."""
    content = _read_raw(path, "download", "")
    _parse_checked_idx(name, content, path, "download", "")
    _check_sha256(content, FASHION_SHA256[name], path, "download", "")


def _not_found_message(
    dataset: str, files: str, places: list[str], err: Exception, hint: str
) -> str:
    """Build the single message shown when data is missing and offline.

    Parameters
    ----------
    dataset : str
        Dataset name.
    files : str
        The files that were looked for.
    places : list of str
        The folders that were searched, in order.
    err : Exception
        The download failure.
    hint : str
        How to get the data.
    """
    if _course_data_dir() is None:
        places = [f"${DATA_DIR_ENV} (not set)"] + places
    listing = "\n".join(f"  - {place}" for place in places)
    return (
        f"{dataset} not found and could not be downloaded.\n"
        f"Looked for {files} in:\n{listing}\n"
        f"Download failed: {err}\n"
        f"{hint}"
    )


# ---------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------


MnistArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _load_mnist_from_data_dir(data_dir: Path) -> MnistArrays | None:
    """Load MNIST from ``$COURSE_DATA_DIR`` if it holds a copy, else None.

    Looks for ``mnist.npz`` in ``data_dir`` and ``data_dir/mnist``, then for
    the four IDX files in ``data_dir/mnist``.
    """
    remedy = "Replace it with a genuine copy, or delete it."
    place_root = _Place(data_dir, f"{DATA_DIR_ENV}={data_dir}", remedy)
    place_sub = _Place(data_dir / "mnist", f"{DATA_DIR_ENV}={data_dir}", remedy)
    for place in (place_root, place_sub):
        path = place.directory / MNIST_NPZ
        if path.is_file():
            return _load_mnist_npz(path, place)
    paths = {name: _find_in(place_sub.directory, name) for name in IDX_FILES}
    if any(path is None for path in paths.values()):
        return None
    arrays = {
        name: _load_idx_file(name, path, place_sub.origin, remedy)
        for name, path in paths.items()
        if path is not None
    }
    _check_pairs(arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS], "train", place_sub.origin, remedy)
    _check_pairs(arrays[TEST_IMAGES], arrays[TEST_LABELS], "test", place_sub.origin, remedy)
    return arrays[TRAIN_IMAGES], arrays[TRAIN_LABELS], arrays[TEST_IMAGES], arrays[TEST_LABELS]


def _load_mnist_npz(path: Path, place: _Place) -> MnistArrays:
    """Load a Keras ``mnist.npz`` after checking its SHA-256 and content.

    Returns
    -------
    tuple of np.ndarray
        ``x_train (n, 28, 28), y_train (n,), x_test (m, 28, 28), y_test (m,)``,
        all uint8.
    """
    try:
        content = path.read_bytes()
    except OSError as err:
        raise DataError(f"Cannot read {path} ({place.origin}): {err}") from err
    _check_sha256(content, MNIST_NPZ_SHA256, path, place.origin, place.remedy)
    return _parse_mnist_npz(path, place)


def _parse_mnist_npz(path: Path, place: _Place) -> MnistArrays:
    """Read the four arrays of ``mnist.npz`` and check dtypes and shapes."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = tuple(np.asarray(npz[key]) for key in keys)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise DataError(
            f"{path} ({place.origin}) is not a valid mnist.npz with arrays "
            f"{', '.join(keys)}: {err}. {place.remedy}"
        ) from err
    x_train, y_train, x_test, y_test = arrays
    for key, array in zip(keys, arrays):
        if array.dtype != np.uint8:
            raise DataError(
                f"{path} ({place.origin}): {key} has dtype {array.dtype}, "
                f"expected uint8. {place.remedy}"
            )
    _check_images(x_train, path, place.origin, place.remedy)
    _check_images(x_test, path, place.origin, place.remedy)
    _check_labels(y_train, path, place.origin, place.remedy)
    _check_labels(y_test, path, place.origin, place.remedy)
    _check_pairs(x_train, y_train, "train", place.origin, place.remedy)
    _check_pairs(x_test, y_test, "test", place.origin, place.remedy)
    return x_train, y_train, x_test, y_test


def _download_mnist(cache_dir: str | None) -> Path:
    """Download ``mnist.npz`` into the course cache and return its path."""
    final = _mnist_cache_place(cache_dir).directory / MNIST_NPZ
    try:
        return _fetch_verified([MNIST_URL], final, _check_mnist_download)
    except _NetworkError as err:
        files = f"{MNIST_NPZ} (or the four IDX files in ${DATA_DIR_ENV}/mnist/)"
        places = [f"{p.directory} ({p.origin})" for p in _mnist_cache_places(cache_dir)]
        data_dir = _course_data_dir()
        if data_dir is not None:
            places = [f"{data_dir} and {data_dir / 'mnist'} ({DATA_DIR_ENV})"] + places
        message = _not_found_message("MNIST", files, places, err, MNIST_INSTALL_HINT)
        raise DataError(message) from err.cause


def _check_mnist_download(path: Path) -> None:
    """Raise DataError unless the downloaded ``path`` is the genuine mnist.npz."""
    _check_sha256(path.read_bytes(), MNIST_NPZ_SHA256, path, "download", "")
    _parse_mnist_npz(path, _Place(path.parent, "download", ""))


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------


class _NetworkError(Exception):
    """Every URL failed with a network error (internal, never escapes)."""

    def __init__(self, message: str, cause: BaseException) -> None:
        super().__init__(message)
        self.cause = cause


def _download(url: str, dest: Path) -> None:
    """Download ``url`` to the file ``dest`` (overwritten).

    Tests replace this function so that they never touch the network.
    """
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        with open(dest, "wb") as out:
            while True:
                chunk = response.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)


def _fetch_verified(urls: list[str], final: Path, check: Callable[[Path], None]) -> Path:
    """Download the first URL that works into ``final``, atomically.

    Each URL is downloaded to a temporary file next to ``final``, checked
    with ``check(tmp_path)`` (which raises DataError if the content is
    wrong), then renamed to ``final``. Nothing is left behind on failure.

    Parameters
    ----------
    urls : list of str
        Canonical source first, then mirrors.
    final : Path
        Destination in the course cache.
    check : callable
        ``check(path) -> None``, raises DataError on bad content.

    Returns
    -------
    Path
        ``final``.

    Raises
    ------
    DataError
        If a download succeeded but no downloaded content was valid.
    _NetworkError
        If every URL failed with a network error.
    """
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"Cannot create the course cache folder {final.parent}: {err}. "
            "Pass cache_dir= a writable folder, or set XDG_CACHE_HOME."
        ) from err
    network_errors: list[str] = []
    content_errors: list[str] = []
    last_network_error: BaseException | None = None
    for url in urls:
        # Same folder (atomic rename), same suffix (.gz is decompressed when checked).
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{final.stem}.", suffix=f".part{final.suffix}", dir=final.parent
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _download(url, tmp)
        except (OSError, ValueError, http.client.HTTPException) as err:
            # URLError, HTTPError and timeouts are OSError; ValueError: bad URL.
            tmp.unlink(missing_ok=True)
            network_errors.append(f"{url}: {err}")
            last_network_error = err
            continue
        try:
            check(tmp)
        except DataError as err:
            tmp.unlink(missing_ok=True)
            content_errors.append(f"{url}: {err}")
            continue
        os.replace(tmp, final)
        return final
    if content_errors:
        raise DataError(
            f"Downloaded {final.name} but its content is wrong (nothing was saved):\n"
            + "\n".join(f"  - {e}" for e in content_errors + network_errors)
            + "\nTry again later, or put genuine files in a folder and set"
            + f" {DATA_DIR_ENV} to that folder."
        )
    assert last_network_error is not None
    raise _NetworkError("; ".join(network_errors), last_network_error)
