"""A notebook's kernel is quiet: TensorFlow's C++ start-up lines do not reach the terminal of the Jupyter
server (the kernel's stderr) nor the notebook; other lines and Python's exceptions still do.

The setup cell's ``prepare()`` starts TensorFlow itself with its start-up lines filtered
(``shared.setup.start_tensorflow``) and sets ``TF_CPP_MIN_LOG_LEVEL=2`` unless the user set it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Pieces of the lines TensorFlow prints when it starts on a machine without a GPU (TensorFlow 2.19 to 2.21).
STARTUP_LINES = ("absl::InitializeLog", "cudart_stub", "Could not find cuda drivers", "cpu_feature_guard",
                 "rebuild TensorFlow", "cuInit", "oneDNN", "Unable to register", "computation placer")


def kernel_environment() -> dict[str, str]:
    """The environment of a student's Jupyter: no course on the path, no TensorFlow log level chosen."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL")}


def test_the_kernels_stderr_has_no_tensorflow_start_up_lines(tmp_path):
    """Runs the GAN chapter's setup cell, imports TensorFlow and Keras and runs an op in a kernel whose
    stderr goes to a file, as a Jupyter server's terminal; then a real error line and an exception."""
    from jupyter_client import KernelManager

    setup = next(c.source for c in nbformat.read(ROOT / "book/en/gan.ipynb", as_version=4).cells
                 if "setup" in c.metadata.get("tags", []))
    cells = [setup,
             "import tensorflow as tf, keras\nprint(float(tf.reduce_sum(tf.ones(3))))",
             "import os\nos.write(2, b'E0000 00:00:1.5 7 conv_ops.cc:52] a real error from an op\\n')",
             "raise ValueError('a real exception')"]
    stderr_file = tmp_path / "kernel-stderr.txt"
    manager = KernelManager(kernel_name="python3")
    replies, printed = [], []
    with open(stderr_file, "w") as stderr:
        manager.start_kernel(cwd=str(ROOT / "book" / "en"), env=kernel_environment(), stderr=stderr)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            for code in cells:
                reply = client.execute_interactive(
                    code, timeout=120, output_hook=lambda m: printed.append(m["content"].get("text", "")))
                replies.append(reply["content"])
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    err = stderr_file.read_text(encoding="utf-8", errors="replace")
    assert [r["status"] for r in replies] == ["ok", "ok", "ok", "error"], replies
    assert "Course setup OK" in "".join(printed) and "3.0" in "".join(printed)
    noise = [line for line in (err + "".join(printed)).splitlines() if any(s in line for s in STARTUP_LINES)]
    assert not noise, "TensorFlow's start-up lines reached the kernel's stderr or the notebook:\n" + "\n".join(noise)
    assert "a real error from an op" in err, err  # C++ lines after the start-up are not filtered
    assert replies[-1]["ename"] == "ValueError" and replies[-1]["evalue"] == "a real exception"


def run_filtered(body: str) -> subprocess.CompletedProcess:
    script = "import os, sys\nfrom shared.setup import quiet_startup\n" + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_the_filter_drops_only_start_up_lines_and_lets_exceptions_through():
    done = run_filtered("""
        noise = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
                 b"I0000 00:00:1796544710.104062   15776 cudart_stub.cc:31] Could not find cuda drivers on your "
                 b"machine, GPU will not be used.",
                 b"2026-12-06 08:13:00.349246: E external/local_xla/xla/stream_executor/cuda/cuda_fft.cc:467] "
                 b"Unable to register cuFFT factory: Attempting to register factory for plugin cuFFT when one has "
                 b"already been registered",
                 b"E0000 00:00:1796544751.365427   15973 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
                 b"CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"]
        try:
            with quiet_startup(gpu_machine=False):
                for line in noise[:2]:
                    os.write(2, line + b"\\n")
                os.write(2, b"E0000 00:00:1.5 7 cuda_dnn.cc:52] Loaded runtime CuDNN library: 8.1 but source "
                            b"was compiled with: 8.6\\n")
                for line in noise[2:]:
                    os.write(2, line + b"\\n")
                print("a Python warning", file=sys.stderr)
                raise RuntimeError("raised inside")
        except RuntimeError as exc:
            print("caught", exc)
        with quiet_startup(gpu_machine=True):  # with a GPU, a failed look-up for it is an error to show
            os.write(2, noise[3] + b"\\n")
        os.write(2, b"after\\n")
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "caught raised inside\n"
    assert done.stderr.splitlines() == [
        "E0000 00:00:1.5 7 cuda_dnn.cc:52] Loaded runtime CuDNN library: 8.1 but source was compiled with: 8.6",
        "a Python warning",
        "E0000 00:00:1796544751.365427   15973 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
        "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
        "after"]


@pytest.mark.parametrize("preset, expected", [(None, "2"), ("0", "0")])
def test_the_log_level_is_set_only_if_the_user_has_not(monkeypatch, capsys, preset, expected):
    from shared import setup

    if preset is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", preset)
    setup.prepare(needs=[])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == expected
    assert "Course setup OK" in capsys.readouterr().out
