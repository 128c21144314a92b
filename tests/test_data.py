"""Tests of shared.data (dataset loaders). Offline: the network is never used.

Most tests use small synthetic IDX / npz files and monkeypatch the expected
checksums; one group loads the real Fashion-MNIST from the Debian package
``dataset-fashion-mnist`` when it is installed.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from shared import data
from shared.data import DataError

N_SYN_TRAIN = 20
N_SYN_TEST = 10


# ---------------------------------------------------------------------------
# Synthetic data helpers
# ---------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file (magic 2049 for 1-D, 2051 for 3-D)."""
    magic = 2048 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Small train/test images (n, 28, 28) and labels (n,), keyed by IDX file name."""
    rng = np.random.default_rng(seed)
    return {
        data.TRAIN_IMAGES: rng.integers(0, 256, (N_SYN_TRAIN, 28, 28), dtype=np.uint8),
        data.TRAIN_LABELS: (np.arange(N_SYN_TRAIN) % 10).astype(np.uint8),
        data.TEST_IMAGES: rng.integers(0, 256, (N_SYN_TEST, 28, 28), dtype=np.uint8),
        data.TEST_LABELS: (np.arange(N_SYN_TEST)[::-1] % 10).astype(np.uint8),
    }


def write_idx_files(folder: Path, arrays: dict[str, np.ndarray], gz: bool) -> dict[str, Path]:
    """Write the four IDX files into ``folder`` (gzipped or raw); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        path = folder / (f"{name}.gz" if gz else name)
        path.write_bytes(gzip.compress(raw) if gz else raw)
        paths[name] = path
    return paths


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Encode a Keras-style mnist.npz."""
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x_train=arrays[data.TRAIN_IMAGES],
        y_train=arrays[data.TRAIN_LABELS],
        x_test=arrays[data.TEST_IMAGES],
        y_test=arrays[data.TEST_LABELS],
    )
    return buffer.getvalue()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def assert_matches(dataset: data.Dataset, arrays: dict[str, np.ndarray], validation: int) -> None:
    """Check that ``dataset`` holds ``arrays`` split with ``validation``."""
    n = N_SYN_TRAIN - validation
    np.testing.assert_array_equal(dataset.x_train, arrays[data.TRAIN_IMAGES][:n])
    np.testing.assert_array_equal(dataset.y_train, arrays[data.TRAIN_LABELS][:n])
    np.testing.assert_array_equal(dataset.x_valid, arrays[data.TRAIN_IMAGES][n:])
    np.testing.assert_array_equal(dataset.y_valid, arrays[data.TRAIN_LABELS][n:])
    np.testing.assert_array_equal(dataset.x_test, arrays[data.TEST_IMAGES])
    np.testing.assert_array_equal(dataset.y_test, arrays[data.TEST_LABELS])
    for array in dataset:
        assert array.dtype == np.uint8


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


class DownloadSpy:
    """Replacement for data._download: records URLs, serves given content or fails."""

    def __init__(self, contents: dict[str, bytes] | None = None) -> None:
        self.contents = contents  # file name at the end of the URL -> bytes
        self.urls: list[str] = []

    def __call__(self, url: str, dest: Path) -> None:
        self.urls.append(url)
        if self.contents is None:
            raise urllib.error.URLError("no network in tests")
        Path(dest).write_bytes(self.contents[url.rsplit("/", 1)[1]])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate from the machine: empty HOME, cache and Debian folder, no network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian-absent")
    monkeypatch.setattr(data, "_download", DownloadSpy())
    return home


@pytest.fixture
def arrays(monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """Synthetic Fashion-MNIST-like arrays whose checksums are the expected ones."""
    arrays = synthetic_arrays()
    hashes = {name: sha256(idx_bytes(array)) for name, array in arrays.items()}
    monkeypatch.setattr(data, "FASHION_SHA256", hashes)
    return arrays


def course_cache(home: Path) -> Path:
    return home / ".cache" / "deep-generative-course"


# ---------------------------------------------------------------------------
# Real Fashion-MNIST from the Debian package
# ---------------------------------------------------------------------------

needs_debian = pytest.mark.skipif(
    not all(
        (data.DEBIAN_FASHION_DIR / f"{name}.gz").is_file() for name in data.IDX_FILES
    ),
    reason=(
        f"Debian package dataset-fashion-mnist not installed "
        f"({data.DEBIAN_FASHION_DIR} missing): sudo apt-get install dataset-fashion-mnist"
    ),
)


@pytest.fixture(scope="module")
def real_full() -> data.Dataset:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("COURSE_DATA_DIR", raising=False)
        mp.setattr(data, "_download", DownloadSpy())
        return data.load_fashion_mnist(validation=0)


@needs_debian
def test_debian_fashion_mnist_full(real_full: data.Dataset) -> None:
    assert real_full.x_train.shape == (60000, 28, 28)
    assert real_full.y_train.shape == (60000,)
    assert real_full.x_valid.shape == (0, 28, 28)
    assert real_full.y_valid.shape == (0,)
    assert real_full.x_test.shape == (10000, 28, 28)
    assert real_full.y_test.shape == (10000,)
    for array in real_full:
        assert array.dtype == np.uint8
    assert real_full.x_train.min() == 0 and real_full.x_train.max() == 255
    assert real_full.x_test.min() == 0 and real_full.x_test.max() == 255
    np.testing.assert_array_equal(np.bincount(real_full.y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(real_full.y_test, minlength=10), [1000] * 10)
    assert len(data.FASHION_CLASSES) == 10
    assert data.FASHION_CLASSES[0] == "T-shirt/top"
    assert data.FASHION_CLASSES[9] == "Ankle boot"


@needs_debian
def test_debian_fashion_mnist_validation_split(real_full: data.Dataset) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("COURSE_DATA_DIR", raising=False)
        mp.setattr(data, "_download", DownloadSpy())
        split = data.load_fashion_mnist()  # default validation=5000
    assert split.x_train.shape == (55000, 28, 28)
    assert split.y_train.shape == (55000,)
    assert split.x_valid.shape == (5000, 28, 28)
    assert split.y_valid.shape == (5000,)
    x = np.concatenate([split.x_train, split.x_valid])
    y = np.concatenate([split.y_train, split.y_valid])
    np.testing.assert_array_equal(x, real_full.x_train)
    np.testing.assert_array_equal(y, real_full.y_train)
    np.testing.assert_array_equal(split.x_test, real_full.x_test)


# ---------------------------------------------------------------------------
# The validation argument
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 60000, 70000, 2.5, "10", True, None])
def test_bad_validation_is_rejected(bad: object, home: Path) -> None:
    with pytest.raises(ValueError, match="0 <= validation < 60000"):
        data.load_fashion_mnist(validation=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 <= validation < 60000"):
        data.load_mnist(validation=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("validation", [0, 1, 7, 19])
def test_validation_split_is_last_images(
    validation: int, home: Path, arrays: dict[str, np.ndarray], tmp_path: Path
) -> None:
    write_idx_files(tmp_path / "course-data" / "fashion-mnist", arrays, gz=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
        dataset = data.load_fashion_mnist(validation=validation)
    assert dataset.x_valid.shape == (validation, 28, 28)
    assert dataset.y_valid.shape == (validation,)
    assert_matches(dataset, arrays, validation)


# ---------------------------------------------------------------------------
# Where files are found
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("subfolder", ["fashion-mnist", ""], ids=["subfolder", "root"])
def test_course_data_dir(
    gz: bool,
    subfolder: str,
    home: Path,
    arrays: dict[str, np.ndarray],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "course-data"
    write_idx_files(root / subfolder, arrays, gz=gz)
    monkeypatch.setenv("COURSE_DATA_DIR", str(root))
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)
    assert data._download.urls == []


def test_course_data_dir_beats_debian_and_cache(
    home: Path, arrays: dict[str, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Valid copy in COURSE_DATA_DIR, corrupt copies everywhere else:
    # loading succeeds only if COURSE_DATA_DIR is used first.
    corrupt = synthetic_arrays(seed=1)
    write_idx_files(tmp_path / "debian", corrupt, gz=True)
    write_idx_files(course_cache(home) / "fashion-mnist", corrupt, gz=True)
    write_idx_files(tmp_path / "course-data" / "fashion-mnist", arrays, gz=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)


def test_corrupt_course_data_dir_is_not_silently_skipped(
    home: Path, arrays: dict[str, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Corrupt copy in COURSE_DATA_DIR, valid Debian copy: the user must hear about it.
    paths = write_idx_files(tmp_path / "course-data", synthetic_arrays(seed=1), gz=True)
    write_idx_files(tmp_path / "debian", arrays, gz=True)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    with pytest.raises(DataError) as info:
        data.load_fashion_mnist(validation=5)
    assert str(paths[data.TRAIN_IMAGES]) in str(info.value)
    assert "COURSE_DATA_DIR" in str(info.value)


def test_debian_beats_cache(
    home: Path, arrays: dict[str, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_idx_files(tmp_path / "debian", arrays, gz=True)
    write_idx_files(course_cache(home) / "fashion-mnist", synthetic_arrays(seed=1), gz=True)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)


@pytest.mark.parametrize("cache_kind", ["xdg", "argument", "keras"])
def test_caches(
    cache_kind: str,
    home: Path,
    arrays: dict[str, np.ndarray],
    tmp_path: Path,
) -> None:
    folders = {
        "xdg": course_cache(home) / "fashion-mnist",
        "argument": tmp_path / "my-cache" / "fashion-mnist",
        "keras": home / ".keras" / "datasets" / "fashion-mnist",
    }
    write_idx_files(folders[cache_kind], arrays, gz=True)
    cache_dir = str(tmp_path / "my-cache") if cache_kind == "argument" else None
    assert_matches(data.load_fashion_mnist(validation=5, cache_dir=cache_dir), arrays, 5)
    assert data._download.urls == []


# ---------------------------------------------------------------------------
# Corrupt files
# ---------------------------------------------------------------------------


def load_with_replaced_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrays: dict[str, np.ndarray],
    name: str, content: bytes, gz: bool,
) -> tuple[Path, DataError]:
    """Write valid files in COURSE_DATA_DIR, replace ``name`` by ``content``, load."""
    paths = write_idx_files(tmp_path / "course-data", arrays, gz=gz)
    paths[name].write_bytes(content)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    with pytest.raises(DataError) as info:
        data.load_fashion_mnist(validation=5)
    assert str(paths[name]) in str(info.value)
    return paths[name], info.value


def test_bad_gzip(home, arrays, tmp_path, monkeypatch) -> None:
    raw = idx_bytes(arrays[data.TRAIN_IMAGES])
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TRAIN_IMAGES, b"not gzip at all" + raw, gz=True
    )
    assert "gzip" in str(err)


def test_truncated_gzip(home, arrays, tmp_path, monkeypatch) -> None:
    compressed = gzip.compress(idx_bytes(arrays[data.TRAIN_IMAGES]))
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TRAIN_IMAGES, compressed[:-100], gz=True
    )
    assert "gzip" in str(err)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_truncated_payload(gz: bool, home, arrays, tmp_path, monkeypatch) -> None:
    raw = idx_bytes(arrays[data.TRAIN_IMAGES])[:-28]  # one image row missing
    content = gzip.compress(raw) if gz else raw
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TRAIN_IMAGES, content, gz=gz
    )
    assert "truncated" in str(err)


def test_too_short_for_header(home, arrays, tmp_path, monkeypatch) -> None:
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TEST_LABELS, b"\x00\x00\x08", gz=False
    )
    assert "header" in str(err)


def test_wrong_magic(home, arrays, tmp_path, monkeypatch) -> None:
    # A labels file where an images file is expected.
    raw = idx_bytes(arrays[data.TRAIN_LABELS])
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TRAIN_IMAGES, raw, gz=False
    )
    assert "magic number 2049, expected 2051" in str(err)


def test_checksum_mismatch(home, arrays, tmp_path, monkeypatch) -> None:
    changed = arrays[data.TEST_IMAGES].copy()
    changed[0, 0, 0] ^= 1  # one bit flipped: structurally valid, wrong content
    _, err = load_with_replaced_file(
        tmp_path, monkeypatch, arrays, data.TEST_IMAGES, gzip.compress(idx_bytes(changed)), gz=True
    )
    assert "Checksum mismatch" in str(err)
    assert data.FASHION_SHA256[data.TEST_IMAGES] in str(err)


def test_checksum_mismatch_in_debian_copy_suggests_reinstall(
    home, arrays, tmp_path, monkeypatch
) -> None:
    write_idx_files(tmp_path / "debian", synthetic_arrays(seed=1), gz=True)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "debian")
    with pytest.raises(DataError, match="apt-get install --reinstall dataset-fashion-mnist"):
        data.load_fashion_mnist(validation=5)


def test_label_out_of_range(home, tmp_path, monkeypatch) -> None:
    arrays = synthetic_arrays()
    arrays[data.TEST_LABELS][3] = 10
    hashes = {name: sha256(idx_bytes(array)) for name, array in arrays.items()}
    monkeypatch.setattr(data, "FASHION_SHA256", hashes)
    write_idx_files(tmp_path / "course-data", arrays, gz=False)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    with pytest.raises(DataError, match="label 10"):
        data.load_fashion_mnist(validation=5)


# ---------------------------------------------------------------------------
# Offline, downloads
# ---------------------------------------------------------------------------


def test_offline_without_copies(home: Path) -> None:
    with pytest.raises(DataError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message
    assert "COURSE_DATA_DIR" in message
    assert str(course_cache(home) / "fashion-mnist") in message
    assert str(data.DEBIAN_FASHION_DIR) in message
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    # Both the canonical source and the mirror were tried, once each.
    assert data._download.urls == [
        data.FASHION_URLS[0] + "train-images-idx3-ubyte.gz",
        data.FASHION_URLS[1] + "train-images-idx3-ubyte.gz",
    ]
    leftovers = list((course_cache(home) / "fashion-mnist").glob("*"))
    assert leftovers == []


def test_download_lands_in_cache_and_is_reused(
    home: Path, arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = DownloadSpy({f"{n}.gz": gzip.compress(idx_bytes(a)) for n, a in arrays.items()})
    monkeypatch.setattr(data, "_download", spy)
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)
    assert len(spy.urls) == 4
    assert all(url.startswith(data.FASHION_URLS[0]) for url in spy.urls)
    cached = sorted(p.name for p in (course_cache(home) / "fashion-mnist").iterdir())
    assert cached == sorted(f"{name}.gz" for name in data.IDX_FILES)

    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)
    assert len(spy.urls) == 4  # nothing downloaded the second time


def test_download_only_missing_files(
    home: Path, arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = course_cache(home) / "fashion-mnist"
    write_idx_files(folder, arrays, gz=True)
    (folder / f"{data.TEST_LABELS}.gz").unlink()
    spy = DownloadSpy({f"{n}.gz": gzip.compress(idx_bytes(a)) for n, a in arrays.items()})
    monkeypatch.setattr(data, "_download", spy)
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)
    assert spy.urls == [data.FASHION_URLS[0] + f"{data.TEST_LABELS}.gz"]


def test_download_with_wrong_content_leaves_nothing(
    home: Path, arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = synthetic_arrays(seed=1)
    spy = DownloadSpy({f"{n}.gz": gzip.compress(idx_bytes(a)) for n, a in wrong.items()})
    monkeypatch.setattr(data, "_download", spy)
    with pytest.raises(DataError, match="Checksum mismatch"):
        data.load_fashion_mnist(validation=5)
    assert len(spy.urls) == 2  # canonical source and mirror, both wrong
    assert list((course_cache(home) / "fashion-mnist").iterdir()) == []


def test_download_falls_back_to_mirror(
    home: Path, arrays: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = {f"{n}.gz": gzip.compress(idx_bytes(a)) for n, a in arrays.items()}

    def canonical_down(url: str, dest: Path) -> None:
        if url.startswith(data.FASHION_URLS[0]):
            raise urllib.error.URLError("canonical source down")
        Path(dest).write_bytes(contents[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(data, "_download", canonical_down)
    assert_matches(data.load_fashion_mnist(validation=5), arrays, 5)


# ---------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------


@pytest.fixture
def mnist_npz(monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, dict[str, np.ndarray]]:
    """Synthetic mnist.npz whose SHA-256 is made the expected one."""
    arrays = synthetic_arrays(seed=2)
    content = npz_bytes(arrays)
    monkeypatch.setattr(data, "MNIST_NPZ_SHA256", sha256(content))
    return content, arrays


def test_real_mnist_hash_constant() -> None:
    assert data.MNIST_NPZ_SHA256 == (
        "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    )


@pytest.mark.parametrize("where", ["course-data", "course-data/mnist", "cache", "keras"])
def test_mnist_npz_sources(
    where: str, home: Path, mnist_npz, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content, arrays = mnist_npz
    folders = {
        "course-data": tmp_path / "course-data",
        "course-data/mnist": tmp_path / "course-data" / "mnist",
        "cache": course_cache(home) / "mnist",
        "keras": home / ".keras" / "datasets",
    }
    folders[where].mkdir(parents=True)
    (folders[where] / "mnist.npz").write_bytes(content)
    if where.startswith("course-data"):
        monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    assert_matches(data.load_mnist(validation=5), arrays, 5)
    assert data._download.urls == []


def test_mnist_npz_checksum_mismatch(home: Path, mnist_npz) -> None:
    path = home / ".keras" / "datasets" / "mnist.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(npz_bytes(synthetic_arrays(seed=3)))
    with pytest.raises(DataError, match="Checksum mismatch") as info:
        data.load_mnist(validation=5)
    assert str(path) in str(info.value)


def test_mnist_npz_with_right_hash_but_bad_content(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"this is not a zip file"
    monkeypatch.setattr(data, "MNIST_NPZ_SHA256", sha256(content))
    path = course_cache(home) / "mnist" / "mnist.npz"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a valid mnist.npz") as info:
        data.load_mnist(validation=5)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_mnist_idx_in_course_data_dir(
    gz: bool, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = synthetic_arrays(seed=4)  # no checksum known: structure is checked only
    write_idx_files(tmp_path / "course-data" / "mnist", arrays, gz=gz)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    assert_matches(data.load_mnist(validation=5), arrays, 5)


def test_mnist_idx_truncated(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_idx_files(tmp_path / "course-data" / "mnist", synthetic_arrays(), gz=False)
    raw = paths[data.TEST_IMAGES].read_bytes()
    paths[data.TEST_IMAGES].write_bytes(raw[:-1])
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "course-data"))
    with pytest.raises(DataError, match="truncated") as info:
        data.load_mnist(validation=5)
    assert str(paths[data.TEST_IMAGES]) in str(info.value)


def test_mnist_download_and_reuse(home: Path, mnist_npz, monkeypatch: pytest.MonkeyPatch) -> None:
    content, arrays = mnist_npz
    spy = DownloadSpy({"mnist.npz": content})
    monkeypatch.setattr(data, "_download", spy)
    assert_matches(data.load_mnist(validation=5), arrays, 5)
    assert spy.urls == [data.MNIST_URL]
    assert (course_cache(home) / "mnist" / "mnist.npz").read_bytes() == content
    assert_matches(data.load_mnist(validation=5), arrays, 5)
    assert spy.urls == [data.MNIST_URL]


def test_mnist_download_wrong_content(home: Path, mnist_npz, monkeypatch) -> None:
    spy = DownloadSpy({"mnist.npz": npz_bytes(synthetic_arrays(seed=5))})
    monkeypatch.setattr(data, "_download", spy)
    with pytest.raises(DataError, match="Checksum mismatch"):
        data.load_mnist(validation=5)
    assert list((course_cache(home) / "mnist").iterdir()) == []


def test_mnist_offline(home: Path) -> None:
    with pytest.raises(DataError) as info:
        data.load_mnist()
    message = str(info.value)
    assert "MNIST not found" in message
    assert "COURSE_DATA_DIR" in message
    assert str(course_cache(home) / "mnist") in message
    assert isinstance(info.value.__cause__, urllib.error.URLError)
