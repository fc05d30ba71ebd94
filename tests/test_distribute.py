"""Training under tf.distribute: two logical CPUs, two worker processes, resume.

Devices must be configured before TensorFlow starts, and a multi-worker
strategy must be the first TensorFlow work of its process, so every training
here runs in a fresh subprocess (`SCRIPT`). The global batch is the same for
one device, two replicas and two workers, so all three must follow the same
loss trend; an interrupted distributed run must resume to completion.
"""

import json
import os
import socket
import subprocess
import sys

import pytest

from kerasnlp_seq import distribute
from kerasnlp_seq.errors import RunError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = r'''
import csv, json, os, sys
sys.path.insert(0, sys.argv[1])
mode, data, out, resume = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
if mode == "mirrored":  # two logical CPUs, before TensorFlow starts
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from kerasnlp_seq import run_callbacks, runs
from kerasnlp_seq.errors import RunError
if os.environ.get("INTERRUPT"):
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt
    original = run_callbacks.make_callbacks
    run_callbacks.make_callbacks = lambda *a, **k: original(*a, **k) + [
        Interrupt()]
overrides = dict(units=8, embedding_dim=8, vocab_size=100, epochs=2,
                 batch_size=16, distribution=mode, bidirectional=False,
                 patience=5, dropout=0.0, embedding_dropout=0.0)
task_config, train_config = runs.resolve_config("sentiment",
                                                overrides=overrides)
try:
    if resume == "1":
        runs.train("sentiment", output=out, resume=True, verbose=0)
    else:
        runs.train("sentiment", data=data, output=out, verbose=0,
                   task_config=task_config, train_config=train_config,
                   overwrite=True)
except RunError as e:
    print("RUNERROR", e)
    sys.exit(3)
with open(os.path.join(out, "history.csv")) as f:
    rows = list(csv.DictReader(f))
print("RESULT", json.dumps({"losses": [float(r["loss"]) for r in rows],
                            "epochs": [int(r["epoch"]) for r in rows]}))
'''


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _start(script, mode, data, out, env=None, resume=False):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.Popen(
        [sys.executable, script, ROOT, mode, data, out,
         "1" if resume else "0"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)


def _finish(proc):
    output, _ = proc.communicate(timeout=600)
    result = [line for line in output.splitlines()
              if line.startswith(("RESULT", "RUNERROR"))]
    return proc.returncode, result[-1] if result else output[-3000:]


def _result(proc):
    code, line = _finish(proc)
    assert code == 0 and line.startswith("RESULT"), line
    return json.loads(line.split(" ", 1)[1])


def _cluster_env(tmp_dir):
    cluster = {"worker": [f"localhost:{_free_port()}",
                          f"localhost:{_free_port()}"]}
    return [{"TF_CONFIG": json.dumps({"cluster": cluster, "task": {
        "type": "worker", "index": i}}), "TMPDIR": str(tmp_dir)}
        for i in range(2)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from conftest import make_texts, write_table

    base = tmp_path_factory.mktemp("distribute")
    script = base / "train_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    data = write_table(base / "train.tsv", make_texts(64, seed=2))
    return str(script), data, base


@pytest.fixture(scope="module")
def single_and_mirrored(setup):
    script, data, base = setup
    procs = [_start(script, mode, data, str(base / f"run_{mode}"))
             for mode in ("none", "mirrored")]
    return [_result(p) for p in procs]


def _same_trend(a, b):
    assert len(a) == len(b) == 2
    assert a[1] < a[0] and b[1] < b[0]
    for x, y in zip(a, b):
        assert y == pytest.approx(x, rel=0.01)


def test_mirrored_over_two_cpus_follows_one_device(single_and_mirrored):
    single, mirrored = single_and_mirrored
    _same_trend(single["losses"], mirrored["losses"])


def test_two_workers_follow_one_device(setup, single_and_mirrored,
                                       tmp_path):
    script, data, _ = setup
    out = str(tmp_path / "run")
    procs = [_start(script, "multi_worker", data, out, env=env)
             for env in _cluster_env(tmp_path)]
    results = [_result(p) for p in procs]
    _same_trend(single_and_mirrored[0]["losses"], results[0]["losses"])
    assert results[0] == results[1]  # both read the chief's history
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["status"] == "complete"
    assert os.path.isdir(os.path.join(out, "saved_model"))
    # The non-chief worker wrote to a temporary directory, now removed.
    assert not [n for n in os.listdir(tmp_path) if "kerasnlp_seq_" in n]


def test_two_workers_from_the_cli(setup, tmp_path):
    # The CLI starts TensorFlow itself (kerasnlp_seq.quiet_start) before the
    # strategy: nothing it does may run an op before the collectives are
    # configured ("Collective ops must be configured at program startup").
    _, data, _ = setup
    out = str(tmp_path / "run")
    command = [sys.executable, "-c", "from cli import main; main()",
               "train", "sentiment", "--data", data, "--output", out,
               "--distribution", "multi_worker", "--epochs", "1",
               "--units", "8", "--embedding-dim", "8", "--vocab-size", "100",
               "--batch-size", "16", "--no-bidirectional", "--quiet"]
    procs = [subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=dict(os.environ, PYTHONPATH=ROOT, **env))
        for env in _cluster_env(tmp_path)]
    for proc in procs:
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, output[-3000:]
    assert "2 replicas in sync" in output
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        assert json.load(f)["status"] == "complete"


@pytest.mark.parametrize("mode", ["mirrored", "multi_worker"])
def test_interrupted_distributed_run_resumes(setup, tmp_path, mode):
    script, data, _ = setup
    out = str(tmp_path / "run")
    envs = (_cluster_env(tmp_path) if mode == "multi_worker" else [{}])
    procs = [_start(script, mode, data, out, env=dict(env, INTERRUPT="1"))
             for env in envs]
    for proc in procs:
        code, line = _finish(proc)
        assert code == 3 and "training interrupted" in line, line
    assert os.path.exists(os.path.join(out, "backup",
                                       "training_metadata.json"))
    envs = (_cluster_env(tmp_path) if mode == "multi_worker" else [{}])
    procs = [_start(script, mode, data, out, env=env, resume=True)
             for env in envs]
    results = [_result(p) for p in procs]
    assert results[0]["epochs"] == [0, 1]
    assert not os.path.exists(os.path.join(out, "backup"))


# ------------------------------------------------------- no subprocess
@pytest.mark.parametrize("config, chief", [
    ({}, True),
    ({"cluster": {"worker": ["a:1", "b:2"]},
      "task": {"type": "worker", "index": 0}}, True),
    ({"cluster": {"worker": ["a:1", "b:2"]},
      "task": {"type": "worker", "index": 1}}, False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]},
      "task": {"type": "worker", "index": 0}}, False),
    ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]},
      "task": {"type": "chief", "index": 0}}, True),
])
def test_only_the_chief_writes_the_run(monkeypatch, config, chief):
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert distribute.is_chief("multi_worker") is chief
    assert distribute.is_chief("mirrored") is True
    where = distribute.write_directory("out", "multi_worker")
    assert (where == "out") is chief
    distribute.remove_worker_directory(where, "out")
    assert chief or not os.path.exists(where)


@pytest.mark.parametrize("raw, fragment", [
    ("", "needs TF_CONFIG with a `cluster`"),
    ("{nope", "TF_CONFIG: invalid JSON"),
    ('{"cluster": {"worker": ["a:1"]}}', "no `task`"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", '
     '"index": 4}}', "task worker:4 is not in the cluster"),
])
def test_bad_tf_config_is_one_line(monkeypatch, raw, fragment):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(RunError, match=fragment):
        distribute.make_strategy("multi_worker")


def test_unknown_distribution_is_refused():
    with pytest.raises(RunError, match="Expected one of"):
        distribute.make_strategy("tpu")
    assert distribute.make_strategy("none") is None
