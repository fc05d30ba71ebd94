"""The options the training benchmarks share (`benchmarks/_results.py`)."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import _results  # noqa: E402


def test_set_overrides_win_over_epochs_and_patience():
    parser = _results.training_parser("d", "/tmp/w", epochs=5, patience=2)
    args = parser.parse_args(["--set", "epochs=9", "--set", "units=[1, 2]",
                              "--set", "cell=gru", "--no-write"])
    assert _results.training_overrides(args) == {
        "epochs": 9, "patience": 2, "units": [1, 2], "cell": "gru"}
    assert args.no_write and args.workdir == "/tmp/w"


@pytest.mark.parametrize("script, own", [("ner.py", "--only"),
                                         ("translation.py", "--minutes"),
                                         ("captioning.py", "--label")])
def test_training_benchmarks_take_the_shared_options(script, own):
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", script), "--help"],
        capture_output=True, text=True, check=True).stdout
    for option in ("--epochs", "--patience", "--set", "--workdir",
                   "--no-write", own):
        assert option in out
