"""Shared fixtures: tiny seeded corpora, a CLI runner, one trained run.

Training is the slow part of the suite, so the multi-class sentiment run
that the CLI, sentiment and export tests all use is trained once per session
(`trained_run`) through the real command line, with a tiny model. Tests
that need a run directory of their own copy it or train a unidirectional,
one-epoch model.
"""

import contextlib
import csv
import gzip
import json
import os
import random
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Small model options, as command-line flags.
TINY = ["--units", "8", "--embedding-dim", "8", "--vocab-size", "200",
        "--batch-size", "16"]
# Smaller still, for the extra trainings (one direction, one epoch).
TINIER = TINY + ["--no-bidirectional", "--epochs", "1", "--quiet"]

WORDS = {
    "pos": "good great superb lovely fine brilliant wonderful".split(),
    "neg": "bad awful poor dull boring terrible weak".split(),
    "neu": "okay average plain usual middling ordinary fair".split(),
}
FILLER = "the film was a and it story acting plot".split()


def make_texts(n=60, classes=("neg", "neu", "pos"), seed=0, min_len=3,
               max_len=12):
    """`n` seeded `(text, label)` pairs, classes in turn, learnable words."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        label = classes[i % len(classes)]
        words = WORDS.get(label) or WORDS[
            ("neg", "pos", "neu")[list(classes).index(label) % 3]]
        length = rng.randint(min_len, max_len)
        text = " ".join(rng.choice(words) if rng.random() < 0.6
                        else rng.choice(FILLER) for _ in range(length))
        pairs.append((text.capitalize() + ".", label))
    return pairs


def write_table(path, pairs, format=None, columns=("text", "label"),
                header=True):
    """Write `(text, label)` pairs as TSV / CSV / JSONL (gzip for `.gz`)."""
    path = str(path)
    name = path[:-3] if path.endswith(".gz") else path
    format = format or {"csv": "csv", "jsonl": "jsonl"}.get(
        name.rsplit(".", 1)[-1], "tsv")
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        if format == "jsonl":
            for text, label in pairs:
                f.write(json.dumps({columns[0]: text, columns[1]: label})
                        + "\n")
            return path
        rows = ([list(columns)] if header else []) + [
            [text, label] for text, label in pairs]
        if format == "csv":
            csv.writer(f, lineterminator="\n").writerows(rows)
        else:  # TSV: no quoting at all, as the reader expects
            f.writelines("\t".join(map(str, row)) + "\n" for row in rows)
    return path


def error_lines(result):
    """The lines of a CLI result that carry the error message."""
    return [line for line in result.output.splitlines()
            if line.startswith("Error:")]


def assert_one_line_error(result, *fragments, exit_code=1):
    """Exit code, exactly one `Error:` line, no traceback, fragments in it."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.output
    assert result.output.rstrip("\n").splitlines()[-1] == lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@contextlib.contextmanager
def interrupted_training(monkeypatch, epoch=0):
    """Training started inside raises KeyboardInterrupt at the end of
    `epoch` (after every callback of the run has seen it), as a Ctrl-C
    would; training started after the block runs normally."""
    import keras

    from kerasnlp_seq import run_callbacks

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, ended, logs=None):
            if ended == epoch:
                raise KeyboardInterrupt

    original = run_callbacks.make_callbacks
    monkeypatch.setattr(run_callbacks, "make_callbacks",
                        lambda *a, **k: original(*a, **k) + [Interrupt()])
    try:
        yield
    finally:
        monkeypatch.setattr(run_callbacks, "make_callbacks", original)


@pytest.fixture(scope="session")
def helpers():
    """The module-level helpers above, for tests (conftest is no module)."""

    class Helpers:
        pass

    h = Helpers()
    for name in ("make_texts", "write_table", "error_lines",
                 "assert_one_line_error", "interrupted_training"):
        setattr(h, name, globals()[name])
    h.TINY, h.TINIER, h.WORDS = TINY, TINIER, WORDS
    return h


@pytest.fixture
def cli():
    """`cli(*args, input=None)`: invoke `kerasnlp-seq` in process."""
    from click.testing import CliRunner

    from cli import main

    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input,
                             catch_exceptions=True)

    return invoke


class TrainedRun:
    """What the session's training produced: paths, data, CLI output."""

    def __init__(self, run_dir, data, pairs, args, output):
        self.run_dir = run_dir
        self.data = data
        self.pairs = pairs
        self.args = args
        self.output = output


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One multi-class (3 labels, strings) run trained through the CLI.

    Unidirectional to keep it fast; the bidirectional default is checked
    on untrained models in test_sentiment.py.
    """
    from click.testing import CliRunner

    from cli import main

    base = tmp_path_factory.mktemp("session_run")
    pairs = make_texts(60, seed=0)
    data = write_table(base / "train.tsv", pairs)
    run_dir = str(base / "run")
    args = ["train", "sentiment", "--data", data, "--output", run_dir,
            "--epochs", "2", "--quiet", "--no-bidirectional"] + TINY
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return TrainedRun(run_dir, data, pairs, args, result.output)


@pytest.fixture(scope="session")
def exported_run(trained_run, tmp_path_factory):
    """The session run exported once through `kerasnlp-seq export`."""
    from click.testing import CliRunner

    from cli import main

    out = str(tmp_path_factory.mktemp("export") / "serving")
    result = CliRunner().invoke(main, ["export", trained_run.run_dir,
                                       "--output", out])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"SavedModel written to {out}" in result.output
    return out


@pytest.fixture(scope="session")
def loaded_run(trained_run):
    """`(task, model, run_config)` of the session run, loaded once."""
    from kerasnlp_seq import runs

    return runs.load_run(trained_run.run_dir)
