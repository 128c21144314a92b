"""make book's output: TensorFlow's start-up lines (one set per kernel) are hidden and counted, the rest shown."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))
import build_site  # noqa: E402

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796539229.070026   18696 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
    "GPU will not be used.",
    "I0000 00:00:1796539229.288973   18696 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.",
    "E0000 00:00:1796539233.980996   18696 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)",
]
SHOWN = ["WARNING: book/en/gan.ipynb: cell 12: a real Sphinx warning",
         "E0000 00:00:1796539233.980996   18696 conv_ops.cc:52] an error from an op, not start-up noise",
         "Traceback (most recent call last):"]


def test_startup_noise_is_hidden_and_counted_the_rest_is_shown(capsys):
    script = "import sys\n" + "".join(f"print({line!r}, file=sys.stderr)\n" for line in NOISE + SHOWN) \
        + "sys.exit(3)\n"
    assert build_site.run_quietly([sys.executable, "-c", script]) == 3
    out, err = capsys.readouterr()
    assert err.splitlines() == SHOWN
    assert f"({len(NOISE)} lines of TensorFlow's start-up messages" in out
