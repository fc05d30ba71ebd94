"""Resuming keeps the best epoch, survives a kill after `fit` and a damaged
backup (`kerasnlp_seq.early_stopping`, `run_callbacks.DistributedBackupAndRestore`).
"""

import csv
import json
import os

import keras
import numpy as np

from kerasnlp_seq.early_stopping import (ResumableEarlyStopping,
                                         finished_state, read_state)


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.stop_training = False  # as `fit` sets it
    return model


def _epoch(callback, model, epoch, value, val_loss):
    model.set_weights([np.full((2, 1), value, "float32"),
                       np.full((1,), value, "float32")])
    callback.on_epoch_end(epoch, {"val_loss": val_loss})


def test_early_stopping_state_survives_an_interruption(tmp_path):
    state = str(tmp_path / "backup")
    model = _model()
    first = ResumableEarlyStopping(state, monitor="val_loss", patience=3,
                                   restore_best_weights=True)
    first.set_model(model)
    first.on_train_begin()
    for epoch, loss in enumerate([1.0, 0.5, 0.8]):  # best: epoch 1
        _epoch(first, model, epoch, float(epoch), loss)
    assert read_state(state) == {"best": 0.5, "wait": 1, "best_epoch": 1,
                                 "done": False}
    # Interrupted here; a new process resumes with the last epoch's weights.
    second = ResumableEarlyStopping(state, monitor="val_loss", patience=3,
                                    restore_best_weights=True)
    second.set_model(model)
    second.on_train_begin()
    assert (second.best, second.wait, second.best_epoch) == (0.5, 1, 1)
    _epoch(second, model, 3, 3.0, 0.9)
    assert not model.stop_training
    _epoch(second, model, 4, 4.0, 0.95)  # patience counts across the resume
    assert model.stop_training
    second.on_train_end()
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((2, 1)))
    assert finished_state(state)


def _history(run):
    with open(os.path.join(run, "history.csv")) as f:
        return [row["epoch"] for row in csv.DictReader(f)]


def _status(run):
    with open(os.path.join(run, "config.json")) as f:
        return json.load(f)["status"]


def test_a_kill_after_fit_resumes_without_training_again(
        cli, helpers, tmp_path, monkeypatch):
    from kerasnlp_seq import training_run
    from kerasnlp_seq.errors import RunError

    def killed(model, run_dir, output):  # dies before the model is saved
        raise RunError("killed")

    original = training_run._save_fitted
    monkeypatch.setattr(training_run, "_save_fitted", killed)
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=4))
    run = str(tmp_path / "run")
    result = cli("train", "sentiment", "--data", data, "--output", run,
                 *helpers.TINIER, "--epochs", "2")
    assert result.exit_code == 1 and _status(run) == "training"
    assert _history(run) == ["0", "1"]
    monkeypatch.setattr(training_run, "_save_fitted", original)

    def no_fit(*args, **kwargs):
        raise AssertionError("fit called after training had ended")

    monkeypatch.setattr(keras.Model, "fit", no_fit)
    resumed = cli("train", "sentiment", "--output", run, "--resume",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert "training had ended; keeping its best epoch" in resumed.output
    assert _status(run) == "complete" and _history(run) == ["0", "1"]
    assert not os.path.exists(os.path.join(run, "backup"))


def test_a_damaged_backup_falls_back_or_says_what_to_delete(
        cli, helpers, tmp_path, monkeypatch):
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=5))
    run = str(tmp_path / "run")
    with helpers.interrupted_training(monkeypatch, epoch=1):
        assert cli("train", "sentiment", "--data", data, "--output", run,
                   *helpers.TINIER, "--epochs", "3").exit_code == 1
    backup = os.path.join(run, "backup")
    latest = os.path.join(backup, "latest.weights.h5")
    assert os.path.exists(latest + ".bkp")  # the previous epoch's copy
    with open(latest, "r+b") as f:  # as if killed while writing it
        f.truncate(96)
    resumed = cli("train", "sentiment", "--output", run, "--resume",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    # Epoch 2 (index 1) is trained again from the copy of epoch 1, and its
    # row replaces the one written before the damaged save.
    assert _history(run) == ["0", "1", "2"]
    assert _status(run) == "complete"

    run2 = str(tmp_path / "run2")
    with helpers.interrupted_training(monkeypatch, epoch=1):
        assert cli("train", "sentiment", "--data", data, "--output", run2,
                   *helpers.TINIER, "--epochs", "3").exit_code == 1
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        with open(os.path.join(run2, "backup", name), "r+b") as f:
            f.truncate(96)
    result = cli("train", "sentiment", "--output", run2, "--resume")
    helpers.assert_one_line_error(
        result, f"{os.path.join(run2, 'backup')}: the backup of the "
        "interrupted run cannot be read", "delete that folder")


def test_a_kill_right_after_the_backup_keeps_the_epoch_in_the_history(
        cli, helpers, tmp_path, monkeypatch):
    # Killed after epoch 2's backup is saved, before any later callback:
    # the resumed run starts at epoch 3, and epoch 2's row must be there.
    from kerasnlp_seq.run_callbacks import DistributedBackupAndRestore

    original = DistributedBackupAndRestore._save_model

    def save_then_die(self):
        original(self)
        if self._current_epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(DistributedBackupAndRestore, "_save_model",
                        save_then_die)
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=8))
    run = str(tmp_path / "run")
    assert cli("train", "sentiment", "--data", data, "--output", run,
               *helpers.TINIER, "--epochs", "3").exit_code == 1
    monkeypatch.setattr(DistributedBackupAndRestore, "_save_model", original)
    resumed = cli("train", "sentiment", "--output", run, "--resume",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert _status(run) == "complete" and _history(run) == ["0", "1", "2"]


def test_drop_rows_from_keeps_earlier_epochs_only(tmp_path):
    from kerasnlp_seq.run_callbacks import _drop_rows_from

    path = str(tmp_path / "history.csv")
    with open(path, "w") as f:
        f.write("epoch,loss\n0,1.5\n1,1.2\n1,1.1\n2,0.9\n")
    _drop_rows_from(path, 1)
    with open(path) as f:
        assert f.read().split() == ["epoch,loss", "0,1.5"]
    _drop_rows_from(str(tmp_path / "missing.csv"), 0)
    assert not os.path.exists(tmp_path / "missing.csv")


def test_resuming_under_another_task_names_the_run_task(
        cli, helpers, tmp_path, monkeypatch):
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=6))
    run = str(tmp_path / "run")
    with helpers.interrupted_training(monkeypatch):
        assert cli("train", "sentiment", "--data", data, "--output", run,
                   *helpers.TINIER).exit_code == 1
    for task in ("spam", "ner"):
        helpers.assert_one_line_error(
            cli("train", task, "--output", run, "--resume"),
            f"{run}: a 'sentiment' run, not '{task}'; resume it with "
            f"`train sentiment --resume --output {run}`.")
    assert _status(run) == "training"


def test_resume_accepts_the_command_that_started_the_run(
        cli, helpers, tmp_path, monkeypatch):
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=7))
    run = str(tmp_path / "run")
    command = ["train", "sentiment", "--data", data, "--output", run,
               *helpers.TINIER, "--epochs", "2", "--patience", "4"]
    with helpers.interrupted_training(monkeypatch):
        assert cli(*command).exit_code == 1
    # Other values are refused, by name; the same ones are the same run.
    helpers.assert_one_line_error(
        cli(*command[:-4], "--epochs", "3", "--patience", "4", "--resume"),
        "--resume continues the run as it was started; --epochs cannot "
        "change it", exit_code=2)
    resumed = cli(*command, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert _status(run) == "complete" and _history(run) == ["0", "1"]
