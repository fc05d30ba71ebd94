"""Argument checks, one-line errors and throughput arithmetic of the
benchmark scripts (`benchmarks/`); nothing here trains a model."""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")
sys.path.insert(0, BENCHMARKS)

import _results  # noqa: E402


def load(script):
    path = os.path.join(BENCHMARKS, script)
    spec = importlib.util.spec_from_file_location(
        "benchmark_" + script[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path, *args, env=None, timeout=120):
    return subprocess.run([sys.executable, path, *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# ------------------------------------------------------------ arguments
@pytest.mark.parametrize("kind, good, bad", [
    (_results.positive_int, [("1", 1), ("30", 30)], ["0", "-3", "2.5", "x"]),
    (_results.nonnegative_int, [("0", 0), ("4", 4)], ["-1", "x"]),
    (_results.positive_float, [("0.5", 0.5)], ["0", "-1", "nan", "x"]),
    (_results.nonnegative_float, [("0", 0.0), ("45", 45.0)],
     ["-1", "nan", "x"]),
    (_results.shape, [("64x200", (64, 200)), ("8X3", (8, 3))],
     ["8", "0x200", "ax2", "64x"]),
    (_results.thread_spec, [("0:0", (0, 0)), ("1:2", (1, 2))],
     ["2", "-1:0", "a:b"]),
    (_results.override, [("epochs=3", "epochs=3"), ("units=", "units=")],
     ["units", "=3", ""]),
])
def test_argument_types_accept_good_and_reject_bad_values(kind, good, bad):
    for text, value in good:
        assert kind(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError):
            kind(text)


def test_training_parser_rejects_zero_epochs_and_a_set_without_value():
    parser = _results.training_parser("d", "/tmp/w", epochs=5, patience=2)
    for argv in (["--epochs", "0"], ["--set", "units"],
                 ["--patience", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(argv)
        assert exit_info.value.code == 2


@pytest.mark.parametrize("script, args", [
    ("sentiment.py", ["--set", "units"]),
    ("ner.py", ["--epochs", "0"]),
    ("translation.py", ["--minutes", "-1"]),
    ("captioning.py", ["--minutes", "-1"]),
    ("spam.py", ["--folds", "1", "--only", "cv"]),
    ("spam.py", ["--write", "--no-write"]),
    ("fused_bidirectional.py", ["--threads", "2"]),
    ("fused_bidirectional.py", ["--shapes", "8"]),
    ("block_lstm.py", ["--rounds", "0"]),
    ("block_lstm.py", ["--batches", "0"]),
    ("word_vectors.py", ["--epochs", "0", "--output", "/tmp/x.txt"]),
    ("word_vectors.py", ["--dim", "0", "--output", "/tmp/x.txt"]),
    ("gradients.py", ["--seq-len", "0"]),
    ("throughput.py", ["--kernel-shapes", "8"]),
    ("throughput.py", ["--epochs", "0"]),
])
def test_bad_arguments_end_in_one_usage_line(script, args):
    proc = run_script(os.path.join(BENCHMARKS, script), *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"{script}: error")


@pytest.mark.parametrize("script", ["gradients.py", "spam.py",
                                    "sentiment.py", "throughput.py"])
def test_every_writing_script_takes_no_write(script):
    out = run_script(os.path.join(BENCHMARKS, script), "--help").stdout
    assert "--no-write" in out


# ------------------------------------------------------------ the guard
def test_guard_turns_toolkit_errors_into_one_line(capsys):
    from kerasnlp_seq.errors import ConfigError

    def main():
        raise ConfigError("`epochs` must be >= 1.\nsecond line")

    with pytest.raises(SystemExit) as exit_info:
        _results.guard(main)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "error: `epochs` must be >= 1.\n"


def test_guard_turns_os_errors_into_one_line(capsys):
    def main():
        open("/nonexistent/folder/file.txt")

    with pytest.raises(SystemExit) as exit_info:
        _results.guard(main)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "error: /nonexistent/folder/file.txt: No such file or directory\n")


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("k"),
                                   TypeError("t")])
def test_guard_keeps_the_traceback_of_other_errors(error):
    def main():
        raise error

    with pytest.raises(type(error)):
        _results.guard(main)


def test_a_bad_set_key_ends_in_one_error_line():
    proc = run_script(os.path.join(BENCHMARKS, "sentiment.py"), "--no-write",
                      "--only", "sst2", "--set", "bogus=1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "bogus" in proc.stderr


# ------------------------------------------------------- throughput math
class Config:
    def __init__(self, batch_size=32, steps_per_epoch=None, time_limit=None):
        self.batch_size = batch_size
        self.steps_per_epoch = steps_per_epoch
        self.time_limit = time_limit


def history(*seconds):
    return [{"epoch_seconds": str(s)} for s in seconds]


def test_trained_epochs_counts_whole_epochs():
    assert _results.trained_epochs(history(10, 12), 1000, Config()) == (
        2000, 22.0, False)


def test_trained_epochs_counts_steps_times_batch():
    # 20 steps of 32: 640 examples per epoch, not the 67k of the data.
    assert _results.trained_epochs(history(5.0), 67349,
                                   Config(steps_per_epoch=20)) == (
        640, 5.0, False)
    # With a repeated dataset, an epoch may be more than the data.
    assert _results.trained_epochs(history(5.0), 100,
                                   Config(steps_per_epoch=20))[0] == 640


def test_trained_epochs_leaves_out_an_epoch_cut_by_the_time_limit():
    # 1 minute: the second epoch was cut at 60 s in all.
    examples, seconds, cut = _results.trained_epochs(
        history(40, 20), 1000, Config(time_limit=1.0))
    assert (examples, seconds, cut) == (1000, 40.0, True)
    # Only a cut epoch: nothing to divide; the rate is "-".
    examples, seconds, cut = _results.trained_epochs(
        history(60), 1000, Config(time_limit=1.0))
    assert (examples, seconds, cut) == (0, 0, True)
    assert _results.rate(examples, seconds) == "-"
    # Well under the limit: nothing was cut.
    assert not _results.trained_epochs(history(5, 5), 10,
                                       Config(time_limit=1.0))[2]


def test_gradients_footnote_follows_the_sequence_length():
    gradients = load("gradients.py")
    assert "dx_19||" in gradients.footnote(20)
    assert "first token of 20)" in gradients.footnote(20)
    assert "dx_99" not in gradients.footnote(20)


# ------------------------------------------------------------- throughput
def test_throughput_report_uses_each_parts_recorded_options():
    throughput = load("throughput.py")
    parser_args = argparse.Namespace(steps=99, child=None, no_write=True,
                                     results="r.json", parts=["memory"])
    memory = {"100": {"peak_rss_mb": 500.0, "seconds": 3.0, "file_mb": 100.0,
                      "load": 1.0},
              "command": "python benchmarks/throughput.py --steps 7",
              "args": {"steps": 7}}
    body = throughput.report({"memory": memory}, parser_args)
    assert "--steps-per-epoch 7 " in body and "99" not in body
    assert '(options: `{"steps": 7}`)' in body


def test_a_failed_throughput_part_exits_non_zero_and_writes_nothing(
        tmp_path):
    # A copy of the scripts, so that a write could only touch the copy's
    # RESULTS.md; the data folder is missing, so the part fails.
    for name in ("throughput.py", "_results.py"):
        shutil.copy(os.path.join(BENCHMARKS, name), tmp_path / name)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"memory": {"command": "old"}}))
    proc = run_script(str(tmp_path / "throughput.py"), "--parts", "train",
                      "--results", str(results),
                      env={"KERASNLP_SEQ_DATA": str(tmp_path / "none"),
                           "PYTHONPATH": ROOT}, timeout=300)
    assert proc.returncode == 2
    assert "part(s) train failed" in proc.stderr
    assert not (tmp_path / "RESULTS.md").exists()
    assert json.loads(results.read_text()) == {"memory": {"command": "old"}}
