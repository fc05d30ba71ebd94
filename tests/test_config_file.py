"""`--config` files at the library level: what they set, and their errors.

A config file holds options only: the data a run's `config.json` records
is not read (`data_notice` says so), and every problem with a file is one
`ConfigError` line that starts with the file's path.
"""

import json

import pytest

from kerasnlp_seq import config_file, runs
from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.samples import sample_path

NER_RUN = {
    "task": "ner", "status": "complete", "data": "eng.train",
    "valid": "eng.testa",
    "task_config": {"units": 8, "tag_column": "ner", "scheme": "bioes"},
    "train_config": {"epochs": 1}}


def write(path, data):
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def raises(task, path, *fragments):
    """`resolve_config(task, path)` fails with one line naming `path`."""
    with pytest.raises(ConfigError) as info:
        runs.resolve_config(task, path)
    message = str(info.value)
    assert message.startswith(f"{path}:"), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    return message


def test_runs_still_offers_what_moved():
    assert runs.resolve_config is config_file.resolve_config
    assert runs.data_notice is config_file.data_notice


def test_config_of_another_task_names_the_file_and_both_tasks(tmp_path):
    path = write(tmp_path / "config.json", NER_RUN)
    raises("sentiment", path, "the config of a 'ner' run, not of "
           "'sentiment'", "`train ner`")
    task_config, train_config = runs.resolve_config("ner", path)
    assert (task_config.units, task_config.scheme, train_config.epochs) == (
        8, "bioes", 1)
    # Without a `task` to say so, the keys tell whose options they are.
    flat = write(tmp_path / "flat.json", NER_RUN["task_config"])
    raises("sentiment", flat, "unknown option(s) ['scheme', 'tag_column'] "
           "for task 'sentiment'", "they are options of task 'ner'")
    nested = write(tmp_path / "nested.json",
                   {"task_config": NER_RUN["task_config"]})
    raises("sentiment", nested, "['scheme', 'tag_column'] in task_config",
           "of task 'ner'")
    raises("sentiment", write(tmp_path / "t.json", {**NER_RUN, "task": 7}),
           "`task` names no task", "Expected 'sentiment'",
           "Received: task=7")


@pytest.mark.parametrize("content, fragment", [
    ('{\n "units": 8,\n}', ":3: invalid JSON"),
    ("", ":1: invalid JSON"),
    (b"\xff\xfe{}", "not a JSON file (not UTF-8 text: byte 0xff"),
    ("[1, 2]", "expected a JSON object of options. Received: a JSON list"),
    ('"units"', "Received: a JSON str"),
    ('{"task_config": 3}', "`task_config` must be a JSON object"),
    ('{"train_config": [1]}', "`train_config` must be a JSON object"),
    ('{"units": "many"}', "`units` must be of type int. Received: "
                          "units='many'"),
    ('{"train_config": {"epochs": 2.5}}', "`epochs` must be of type int"),
    ('{"task_config": {"cell": null}}', "`cell` may not be null"),
])
def test_malformed_config_files(tmp_path, content, fragment):
    path = tmp_path / "c.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    raises("sentiment", str(path), fragment)


def test_unreadable_config_files(tmp_path):
    raises("sentiment", str(tmp_path / "none.json"), "file not found")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    raises("sentiment", str(folder), "a directory, not a JSON file")


@pytest.mark.parametrize("data, fragment", [
    ({"units": 8, "colour": 1, "shape": 2},
     "unknown option(s) ['colour', 'shape'] for task 'sentiment'"),
    ({"train_config": {"epochs": 1, "colour": 2}},
     "unknown option(s) ['colour'] in train_config for task 'sentiment'"),
    ({"task_config": {"units": 8, "epochs": 2}},
     "['epochs'] in task_config for task 'sentiment'; it goes in "
     "train_config"),
    ({"train_config": {"units": 8}}, "it goes in task_config"),
    # Options beside the two sections were once dropped without a word.
    ({"task_config": {"units": 8}, "epochs": 3, "colour": 1},
     "unknown key(s) ['colour', 'epochs'] beside task_config and "
     "train_config"),
    ({"task": "sentiment", "units": 8, "status": "complete"},
     "unknown option(s) ['status']"),
])
def test_unknown_keys_are_all_named_with_the_file(tmp_path, data, fragment):
    raises("sentiment", write(tmp_path / "c.json", data), fragment)


def test_command_line_options_unknown_to_the_task():
    with pytest.raises(ConfigError, match=r"^command line: unknown option"
                                          r"\(s\) \['x', 'y'\] for task "):
        runs.resolve_config("sentiment", overrides={"x": 1, "y": 2})


def test_a_flat_config_cannot_set_data(tmp_path):
    path = write(tmp_path / "c.json", {"data": "x.tsv", "valid": "v.tsv",
                                       "units": 8})
    raises("sentiment", path, "'data' and 'valid' cannot be set in a config "
           "file", "give --data and --valid instead")


def test_a_runs_config_gives_options_and_a_notice_about_its_data(tmp_path):
    """A run's config.json sets the options; the data it records is not
    read, and `data_notice` tells what is trained on instead."""
    run = {"task": "sentiment", "status": "complete",
           "data": "reviews.tsv", "valid": None,
           "task_config": {"units": 16}, "train_config": {"epochs": 3}}
    path = write(tmp_path / "config.json", run)
    task_config, train_config = runs.resolve_config("sentiment", path)
    assert (task_config.units, train_config.epochs) == (16, 3)
    sample = sample_path("sentiment.tsv")
    note = runs.data_notice("sentiment", path, None, task_config)
    assert note == (
        f"Note: {path} gives options, not data: its run trained on "
        f"reviews.tsv; this run trains on the bundled sample ({sample}). "
        "Give --data reviews.tsv to train on that data.")
    assert runs.data_notice("sentiment", path, "other.tsv") is None
    assert runs.data_notice("sentiment", None) is None
    with_valid = write(tmp_path / "v.json", {**run, "valid": "dev.tsv"})
    note = runs.data_notice("sentiment", with_valid)
    assert "trained on reviews.tsv (validation: dev.tsv)" in note
    assert "--data reviews.tsv --valid dev.tsv" in note
    # Nothing to say: the run trained on the bundled sample itself, or the
    # file is options only.
    on_sample = write(tmp_path / "s.json", {**run, "data": sample})
    assert runs.data_notice("sentiment", on_sample) is None
    flat = write(tmp_path / "flat.json", {"units": 16})
    assert runs.data_notice("sentiment", flat) is None

