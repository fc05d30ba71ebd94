"""Config dataclasses, their JSON round trip, config resolution, registry."""

import dataclasses
import json

import pytest

from kerasnlp_seq import registry, runs
from kerasnlp_seq.config import (TrainConfig, from_dict, load_json, save_json,
                                 to_dict)
from kerasnlp_seq.errors import ConfigError, KerasNLPSeqError, RunError
from tasks.sentiment import SentimentConfig, SentimentTask


def test_defaults_work_and_are_frozen():
    config = TrainConfig()
    assert (config.epochs, config.batch_size, config.optimizer) == (
        10, 32, "adam")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    assert SentimentConfig().cell == "gru"


@pytest.mark.parametrize("cls", [TrainConfig, SentimentConfig])
def test_json_round_trip(tmp_path, cls):
    values = ({"epochs": 3, "learning_rate": 0.01, "clipnorm": 1.0,
               "optimizer": "sgd", "seed": 7} if cls is TrainConfig else
              {"cell": "lstm", "format": "csv", "header": False,
               "units": 4, "dropout": 0.0})
    config = cls(**values)
    path = str(tmp_path / "c.json")
    save_json(to_dict(config), path)
    assert from_dict(cls, load_json(path)) == config
    assert not (tmp_path / "c.json.tmp").exists()


@pytest.mark.parametrize("values,fragment", [
    ({"optimizer": "adagrad"}, "Unknown `optimizer` for TrainConfig. Expected "
     "one of ['adam', 'adamw', 'rmsprop', 'sgd']. Received: "
     "optimizer='adagrad'"),
    ({"epochs": 0}, "`epochs` of TrainConfig must be >= 1. "
     "Received: epochs=0"),
    ({"ema": 0.0}, "`ema` of TrainConfig must be in (0.0, 1.0). "
     "Received: ema=0.0"),
    ({"batch_size": -2}, "batch_size=-2"),
    ({"learning_rate": -1.0}, "learning_rate=-1.0"),
    ({"learning_rate": 0.0}, "`learning_rate` of TrainConfig must be > 0.0. "
     "Received: learning_rate=0.0"),
    ({"time_limit": 0.0}, "`time_limit` of TrainConfig must be > 0.0"),
    ({"valid_fraction": 1.0}, "`valid_fraction` of TrainConfig must be in "
     "[0.0, 1.0). Received: valid_fraction=1.0"),
    ({"patience": -1}, "patience=-1"),
    ({"clipnorm": -0.5}, "clipnorm=-0.5"),
])
def test_train_config_validation(values, fragment):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**values)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("values,fragment", [
    ({"cell": "transformer"}, "Received: cell='transformer'"),
    ({"pooling": "sum"}, "Received: pooling='sum'"),
    ({"format": "xml"}, "Received: format='xml'"),
    ({"truncating": "middle"}, "Received: truncating='middle'"),
    ({"vocab_size": 2}, "vocab_size=2"),
    ({"dropout": 1.0}, "dropout=1.0"),
    ({"units": 0}, "units=0"),
    ({"max_length": 0}, "max_length=0"),
])
def test_sentiment_config_validation(values, fragment):
    with pytest.raises(ConfigError) as info:
        SentimentConfig(**values)
    assert fragment in str(info.value)


def test_from_dict_rejects_unknown_keys_and_wrong_types():
    with pytest.raises(ConfigError) as info:
        from_dict(TrainConfig, {"epoch": 3}, "my.json")
    assert str(info.value).startswith(
        "my.json: unknown option(s) ['epoch'] for TrainConfig.")
    for key, value in [("epochs", "3"), ("epochs", 2.5), ("epochs", True),
                       ("learning_rate", "fast"), ("learning_rate", True)]:
        with pytest.raises(ConfigError) as info:
            from_dict(TrainConfig, {key: value}, "my.json")
        assert str(info.value) == (
            f"my.json: `{key}` must be of type "
            f"{'int' if key == 'epochs' else 'float'}. "
            f"Received: {key}={value!r}")
    with pytest.raises(ConfigError, match="`header` must be of type bool"):
        from_dict(SentimentConfig, {"header": "no"})


def test_from_dict_coerces_int_to_float_and_keeps_optional_none():
    config = from_dict(TrainConfig, {"learning_rate": 1, "clipnorm": None})
    assert config.learning_rate == 1.0
    assert isinstance(config.learning_rate, float)
    assert config.clipnorm is None


def test_from_dict_rejects_null_for_required_fields():
    with pytest.raises(ConfigError):
        from_dict(TrainConfig, {"epochs": None})


def test_load_json_errors(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_json(str(tmp_path / "none.json"))
    assert str(info.value) == f"{tmp_path / 'none.json'}: file not found."
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "epochs": 3,\n  oops\n}\n')
    with pytest.raises(ConfigError) as info:
        load_json(str(bad))
    assert str(info.value).startswith(f"{bad}:3: invalid JSON")


def test_resolve_config_nested_file_flat_file_and_overrides(tmp_path):
    nested = tmp_path / "run_config.json"
    nested.write_text(json.dumps({
        "task": "sentiment", "status": "complete",
        "task_config": {"units": 16, "cell": "lstm"},
        "train_config": {"epochs": 4, "seed": 9}}))
    task_config, train_config = runs.resolve_config(
        "sentiment", str(nested), {"units": 8, "batch_size": 4})
    assert (task_config.units, task_config.cell) == (8, "lstm")
    assert (train_config.epochs, train_config.seed,
            train_config.batch_size) == (4, 9, 4)
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"units": 3, "epochs": 2}))
    task_config, train_config = runs.resolve_config("sentiment", str(flat))
    assert task_config.units == 3 and train_config.epochs == 2
    assert task_config.embedding_dim == SentimentConfig().embedding_dim


def test_plateau_decay_asked_for_replaces_a_default_schedule(tmp_path):
    _, train = runs.resolve_config("translation")
    assert (train.lr_schedule, train.lr_decay_patience) == ("cosine", None)
    _, train = runs.resolve_config("translation", None,
                                   {"lr_decay_patience": 1})
    assert (train.lr_schedule, train.lr_decay_patience) == ("constant", 1)
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"lr_decay_patience": 2}))
    _, train = runs.resolve_config("translation", str(flat))
    assert (train.lr_schedule, train.lr_decay_patience) == ("constant", 2)
    with pytest.raises(ConfigError, match="one learning-rate schedule"):
        runs.resolve_config("translation", None, {"lr_decay_patience": 1,
                                                  "lr_schedule": "cosine"})


def test_resolve_config_errors(tmp_path):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"unitz": 3}))
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['unitz'\]"):
        runs.resolve_config("sentiment", str(flat))
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="expected a JSON object"):
        runs.resolve_config("sentiment", str(listing))
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"task_config": {"units": "many"}}))
    with pytest.raises(ConfigError, match="`units` must be of type int"):
        runs.resolve_config("sentiment", str(nested))
    with pytest.raises(KerasNLPSeqError, match="Unknown task"):
        runs.resolve_config("no_such_task")


def test_registry_lists_and_finds_tasks():
    assert "sentiment" in registry.task_names()
    assert registry.get_task_class("sentiment") is SentimentTask
    with pytest.raises(ConfigError) as info:
        registry.get_task_class("sentimnt")
    assert "Received: 'sentimnt'" in str(info.value)
    assert "'sentiment'" in str(info.value)


def test_register_task_rejects_nameless_and_duplicate(monkeypatch):
    monkeypatch.setattr(registry, "_TASKS", dict(registry._TASKS))

    class Nameless(SentimentTask):
        name = None

    with pytest.raises(TypeError, match="needs a class attribute `name`"):
        registry.register_task(Nameless)

    class Impostor(SentimentTask):
        name = "sentiment"

    with pytest.raises(TypeError, match="taken by tasks.sentiment"):
        registry.register_task(Impostor)

    class Extra(SentimentTask):
        name = "extra_test_task"

    registry.register_task(Extra)
    assert registry.get_task_class("extra_test_task") is Extra


@pytest.mark.parametrize("name,text,value", [
    ("epochs", "12", 12), ("learning_rate", "3e-4", 3e-4),
    ("jit_compile", "True", True), ("jit_compile", "off", False),
    ("clipnorm", "none", None), ("clipnorm", "2.5", 2.5),
    ("optimizer", "sgd", "sgd")])
def test_parse_value_types_text_by_the_field(name, text, value):
    from kerasnlp_seq.config import parse_value

    assert parse_value(TrainConfig, name, text) == value


@pytest.mark.parametrize("name,text,fragment", [
    ("epochs", "ten", "`epochs` must be of type int. Received: epochs='ten'"),
    ("epochs", "none", "`epochs` must be of type int"),
    ("jit_compile", "maybe", "`jit_compile` must be of type bool"),
    ("epoch", "3", "unknown option 'epoch' for TrainConfig")])
def test_parse_value_errors_name_the_option(name, text, fragment):
    from kerasnlp_seq.config import parse_value

    with pytest.raises(ConfigError) as info:
        parse_value(TrainConfig, name, text)
    assert fragment in str(info.value)


def test_inference_options_only_where_the_task_declares_them():
    from kerasnlp_seq.finished_run import _with_options
    from tasks.ner import NERTask
    from tasks.translation import TranslationTask

    config = _with_options(TranslationTask, TranslationTask.Config(),
                                {"length_penalty": "1", "decoding": "greedy"})
    assert (config.length_penalty, config.decoding) == (1.0, "greedy")
    with pytest.raises(RunError) as info:
        _with_options(NERTask, NERTask.Config(), {"head": "softmax"})
    assert str(info.value) == (
        "--set head: a ner run cannot change 'head' after training; it can "
        "change format, token_column, tag_column, columns, scheme, "
        "tfds_data_dir.")
    config = _with_options(NERTask, NERTask.Config(),
                                {"columns": "token,ner", "tag_column": "ner"})
    assert (config.columns, config.tag_column) == ("token,ner", "ner")

    class Bare(NERTask):  # a task that declares no inference options
        name, inference_options = "bare", ()

    with pytest.raises(RunError, match="a bare run cannot change 'scheme' "
                       "after training; it has no options that can change"):
        _with_options(Bare, NERTask.Config(), {"scheme": "iob1"})
    with pytest.raises(ConfigError, match="`length_penalty` of "
                       "TranslationConfig must be >= 0.0"):
        _with_options(TranslationTask, TranslationTask.Config(),
                           {"length_penalty": -1.0})


def test_renamed_fields_read_under_their_old_name(tmp_path):
    """A field renamed in a config (`RENAMED`) still loads from old JSON
    configs, nested or flat, and refuses both names at once."""
    from kerasnlp_seq.config import current_names, renamed_fields
    from tasks.captioning import CaptioningConfig

    assert renamed_fields(CaptioningConfig) == {"decode": "decoding"}
    assert renamed_fields(SentimentConfig) == {}
    assert from_dict(CaptioningConfig, {"decode": "greedy"}).decoding == \
        "greedy"
    nested, flat = tmp_path / "nested.json", tmp_path / "flat.json"
    nested.write_text(json.dumps({"task_config": {"decode": "greedy"}}))
    flat.write_text(json.dumps({"decode": "greedy", "epochs": 3}))
    for path in (nested, flat):
        task_config, _ = runs.resolve_config("captioning", str(path))
        assert task_config.decoding == "greedy"
    task_config, _ = runs.resolve_config("captioning", str(nested),
                                         {"decoding": "beam"})
    assert task_config.decoding == "beam"  # the command line wins
    with pytest.raises(ConfigError, match=r"^x\.json: 'decode' is the old "
                                          "name of 'decoding'"):
        current_names(CaptioningConfig,
                      {"decode": "greedy", "decoding": "beam"}, "x.json")
