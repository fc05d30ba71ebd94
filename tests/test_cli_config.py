"""`kerasnlp-seq train TASK --config FILE`, through `click.testing.CliRunner`.

A config file gives options, not data: a run's own `config.json` trains
with that run's options on `--data` (or on the bundled sample, with a note
on stderr naming the data the file's run trained on). A file that is not
a config for the task asked for is a one-line error naming the file.
"""

import json
import os

import pytest

from kerasnlp_seq import runs
from kerasnlp_seq.samples import sample_path


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def spy_train(monkeypatch):
    """`runs.train` replaced: what the CLI would train, without training."""
    seen = {}

    def train(name, **kwargs):
        seen.update(kwargs, name=name)
        return "run", {}

    monkeypatch.setattr(runs, "train", train)
    return seen


def test_a_runs_config_trains_its_options_on_the_sample_and_says_so(
        trained_run, cli, helpers, tmp_path):
    config = os.path.join(trained_run.run_dir, "config.json")
    out = str(tmp_path / "again")
    result = cli("train", "sentiment", "--config", config, "--output", out,
                 "--epochs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    sample = sample_path("sentiment.tsv")
    note = (f"Note: {config} gives options, not data: its run trained on "
            f"{trained_run.data}; this run trains on the bundled sample "
            f"({sample}). Give --data {trained_run.data} to train on that "
            "data.")
    assert note in result.stderr.splitlines()
    assert result.stderr.index(note) < result.stderr.index(
        f"Reading {sample}")
    written, original = (read_json(os.path.join(out, "config.json")),
                         read_json(config))
    assert written["data"] == sample
    assert written["task_config"] == original["task_config"]
    assert written["train_config"] == {**original["train_config"],
                                       "epochs": 1}


def test_a_runs_config_with_data_given_has_no_note(trained_run, cli,
                                                   spy_train):
    config = os.path.join(trained_run.run_dir, "config.json")
    result = cli("train", "sentiment", "--config", config, "--data",
                 trained_run.data)
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output
    assert spy_train["data"] == trained_run.data
    assert (spy_train["task_config"].units,
            spy_train["task_config"].bidirectional) == (8, False)


def test_options_only_config_has_no_note(cli, tmp_path, spy_train):
    config = tmp_path / "options.json"
    config.write_text(json.dumps({"units": 12, "epochs": 3}))
    result = cli("train", "sentiment", "--config", config)
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output
    assert spy_train["data"] is None  # the task's bundled sample
    assert (spy_train["task_config"].units,
            spy_train["train_config"].epochs) == (12, 3)


def test_the_config_of_another_task(cli, helpers, tmp_path, spy_train):
    ner_run = tmp_path / "ner_run"
    ner_run.mkdir()
    config = ner_run / "config.json"
    config.write_text(json.dumps({
        "task": "ner", "status": "complete", "data": "eng.train",
        "valid": None, "task_config": {"units": 8, "tag_column": "ner"},
        "train_config": {"epochs": 1}}))
    out = tmp_path / "out"
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--config", config, "--output", out),
        f"Error: {config}: the config of a 'ner' run, not of 'sentiment': "
        "give it to `train ner`, or give a sentiment config.")
    config.write_text(json.dumps({"tag_column": "pos", "epochs": 2}))
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--config", config, "--output", out),
        f"Error: {config}: unknown option(s) ['tag_column'] for task "
        "'sentiment'; it is an option of task 'ner'.")
    assert not out.exists() and not spy_train


@pytest.mark.parametrize("content, fragment", [
    (b"\x80\x81 not json", "not a JSON file (not UTF-8 text: byte 0x80 at "
                           "offset 0)."),
    (b'{"units": 8,\n "epochs": }', ":2: invalid JSON (Expecting value)."),
    (b"[]", "expected a JSON object of options. Received: a JSON list."),
    (b'{"task_config": "units=8"}', "`task_config` must be a JSON object"),
    (b'{"units": 8, "colour": 1, "shape": 2}',
     "unknown option(s) ['colour', 'shape'] for task 'sentiment'."),
    (b'{"train_config": {"colour": 2}}',
     "unknown option(s) ['colour'] in train_config for task 'sentiment'."),
    (b'{"task_config": {"units": 8}, "epochs": 3}',
     "unknown key(s) ['epochs'] beside task_config and train_config"),
    (b'{"units": "eight"}', "`units` must be of type int. Received: "
                            "units='eight'"),
    (b'{"data": "reviews.tsv"}', "'data' cannot be set in a config file, "
                                 "which holds options only: give --data"),
])
def test_bad_config_files_are_one_line_errors_naming_the_file(
        cli, helpers, tmp_path, spy_train, content, fragment):
    config = tmp_path / "config.json"
    config.write_bytes(content)
    out = tmp_path / "out"
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--config", config, "--output", out),
        f"Error: {config}", fragment)
    assert not out.exists() and not spy_train
