"""TensorFlow Datasets as a data source, offline, via `tfds.testing.mock_data`.

`mock_data` alone gives a builder whose `info.splits` is empty (the policy
falls back to `USE_CODE` when no metadata files exist, and the real split
list is only known after `download_and_prepare` or from GCS), so
`tfds_data.load` would find no split for a role. The `metadata` fixture
therefore writes the metadata files a prepared data set would have
(`dataset_info.json`, `features.json`, label names) into a temporary
`data_dir`, with the real split names; `mock_data(data_dir=...)` then
serves random examples for them.
"""

import json
import os

import pytest

from kerasnlp_seq import runs, tfds_data
from kerasnlp_seq.config import TrainConfig
from kerasnlp_seq.errors import DataError
from tasks.sentiment import SentimentConfig

SPLITS = {"imdb_reviews": ("train", "test", "unsupervised"),
          "glue/sst2": ("train", "validation", "test")}
NUM_EXAMPLES = 24
TINY = SentimentConfig(units=4, embedding_dim=4, vocab_size=100,
                       bidirectional=False)
ONE_EPOCH = TrainConfig(epochs=1, batch_size=16)


@pytest.fixture(scope="module")
def metadata(tmp_path_factory):
    """A TFDS data_dir holding only the metadata of the two data sets."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import splits as splits_lib

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    for name, splits in SPLITS.items():
        builder = tfds.builder(name, data_dir=data_dir)
        builder.info.set_splits(splits_lib.SplitDict([
            splits_lib.SplitInfo(name=s, shard_lengths=[NUM_EXAMPLES],
                                 num_bytes=0, filename_template=None)
            for s in splits]))
        os.makedirs(builder.data_path, exist_ok=True)
        builder.info.write_to_directory(builder.data_path)
    return data_dir


@pytest.fixture
def mocked(metadata):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=NUM_EXAMPLES,
                                data_dir=metadata):
        yield


def test_is_tfds_and_parse_spec():
    assert tfds_data.is_tfds("tfds:imdb_reviews")
    assert not tfds_data.is_tfds("data/tfds.tsv")
    assert not tfds_data.is_tfds(None)
    assert tfds_data.parse_spec("tfds:imdb_reviews") == ("imdb_reviews", None)
    assert tfds_data.parse_spec("tfds:glue/sst2?split=validation") == (
        "glue/sst2", "validation")
    for bad in ("tfds:", "tfds:imdb_reviews?shuffle=1"):
        with pytest.raises(DataError) as info:
            tfds_data.parse_spec(bad)
        assert str(info.value).startswith(f"{bad}: expected `tfds:NAME`")
    with pytest.raises(DataError, match=r"unknown parameter\(s\) \['shuffle'"):
        tfds_data.parse_spec("tfds:x?shuffle=1")


def test_load_picks_splits_by_role(mocked):
    rows, info = tfds_data.load("tfds:imdb_reviews", "train")
    assert len(rows) == NUM_EXAMPLES
    assert set(rows[0]) == {"text", "label"}
    assert isinstance(rows[0]["text"], str) and isinstance(rows[0]["label"],
                                                           int)
    assert tfds_data.load("tfds:imdb_reviews", "valid")[0] is None
    assert tfds_data.class_names(info, "label") == ["neg", "pos"]
    assert tfds_data.class_names(info, "text") is None
    assert tfds_data.text_features(info) == ["text"]
    rows, _ = tfds_data.load("tfds:glue/sst2?split=validation", "train",
                             limit=5)
    assert len(rows) == 5 and "sentence" in rows[0]
    rows, info = tfds_data.load("tfds:glue/sst2", "valid")
    assert len(rows) == NUM_EXAMPLES


def test_unknown_tfds_name_is_one_line(mocked):
    with pytest.raises(DataError) as info:
        tfds_data.load("tfds:no_such_dataset_xyz", "train")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("tfds:no_such_dataset_xyz: unknown TFDS data "
                              "set 'no_such_dataset_xyz'")


def test_imdb_reviews_trains_through_runs(mocked, tmp_path):
    run, metrics = runs.train(
        "sentiment", data="tfds:imdb_reviews", output=str(tmp_path / "imdb"),
        task_config=TINY, train_config=ONE_EPOCH, verbose=0,
        echo=lambda m: None)
    with open(os.path.join(run, "labels.json")) as f:
        assert json.load(f) == ["neg", "pos"]  # ClassLabel names kept
    with open(os.path.join(run, "config.json")) as f:
        config = json.load(f)
    assert config["status"] == "complete"
    assert config["data"] == "tfds:imdb_reviews"
    # No validation split: a stratified tenth of train is held back.
    assert 2 <= metrics["support"] <= 4
    task, model, _ = runs.load_run(run)
    test_split = task.read("tfds:imdb_reviews", "eval")
    assert task.evaluate(model, test_split)["support"] == NUM_EXAMPLES
    answers = task.predict(model, ["what a film", ""])
    assert [sorted(a["probabilities"]) for a in answers] == [
        ["neg", "pos"]] * 2


def test_glue_sst2_trains_through_runs(mocked, tmp_path):
    run, metrics = runs.train(
        "sentiment", data="tfds:glue/sst2", output=str(tmp_path / "sst2"),
        task_config=TINY, train_config=ONE_EPOCH, verbose=0,
        echo=lambda m: None)
    with open(os.path.join(run, "labels.json")) as f:
        assert json.load(f) == ["negative", "positive"]
    # The text feature is `sentence` (found, not configured); the
    # validation split is used whole.
    assert metrics["support"] == NUM_EXAMPLES
    assert os.path.isfile(os.path.join(run, "saved_model", "saved_model.pb"))


def test_eval_skips_an_unlabelled_test_split(metadata):
    """GLUE's test splits carry label -1 everywhere: evaluation falls back
    to `validation` unless a split is asked for by name."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    def as_dataset(self, split, **kwargs):
        label = -1 if str(split) == "test" else 1
        n = 3 if str(split) == "test" else 5
        return tf.data.Dataset.from_tensor_slices({
            "idx": tf.range(n), "label": tf.fill([n], label),
            "sentence": tf.fill([n], f"a {split} sentence")})

    with tfds.testing.mock_data(data_dir=metadata, as_dataset_fn=as_dataset):
        rows, _ = tfds_data.load("tfds:glue/sst2", "eval")
        assert len(rows) == 5 and rows[0]["label"] == 1
        rows, _ = tfds_data.load("tfds:glue/sst2?split=test", "eval")
        assert [r["label"] for r in rows] == [-1] * 3


# ------------------------------------------- data sets that are not there


@pytest.fixture
def offline(monkeypatch):
    """No network: TFDS's download fails at once (as on an offline machine,
    minus the minutes of retries). Yields the list of download attempts."""
    from tensorflow_datasets.core import dataset_builder

    attempts = []

    def download_and_prepare(self, *args, **kwargs):
        attempts.append(self.name)
        raise ConnectionError(f"Failed to resolve host for {self.name} "
                              "(offline)")

    monkeypatch.setattr(dataset_builder.DatasetBuilder,
                        "download_and_prepare", download_and_prepare)
    return attempts


def test_offline_download_gives_up_after_a_few_quiet_retries(
        monkeypatch, tmp_path, caplog):
    """TFDS's own downloader, with every connection refused below urllib3's
    retry logic (as when no host resolves): 1 + DOWNLOAD_RETRIES attempts,
    no back-off sleeps left to wait, no warning per retry."""
    import urllib3
    from tensorflow_datasets.core.download import downloader
    from urllib3.util import retry

    attempts = []

    def refuse(self, conn, method, url, *args, **kwargs):
        attempts.append(url)
        raise urllib3.exceptions.NewConnectionError(
            conn, "Failed to resolve (offline)")

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool,
                        "_make_request", refuse)
    monkeypatch.setattr(retry.Retry, "sleep", lambda self, *a: None)
    with pytest.raises(DataError) as info:
        tfds_data.load("tfds:imdb_reviews", "train", data_dir=str(tmp_path))
    assert "could not be downloaded (ConnectionError" in str(info.value)
    assert len(attempts) == 1 + tfds_data.DOWNLOAD_RETRIES
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert downloader.MAX_RETRIES == 10  # TFDS's own, back after the load


def _not_prepared(spec, name, data_dir, cause):
    return (f"{spec}: TFDS data set {name!r} is not prepared in {data_dir} "
            f"{cause}")


@pytest.mark.parametrize("spec", ["tfds:imdb_reviews",
                                  "tfds:imdb_reviews?split=train"])
def test_unprepared_data_set_says_so_not_which_split(offline, tmp_path, spec):
    with pytest.raises(DataError) as info:
        tfds_data.load(spec, "train", data_dir=str(tmp_path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(_not_prepared(
        spec, "imdb_reviews", tmp_path,
        "and could not be downloaded (ConnectionError: Failed to resolve"))
    assert (f"`tfds build imdb_reviews --data_dir DIR`) and copy "
            f"DIR/imdb_reviews into {tmp_path}, or run online.") in message
    problem = info.value.problem
    assert "split" not in problem and "importlib" not in problem
    assert offline == ["imdb_reviews"]  # one attempt, before any split


def test_unprepared_data_set_without_download_is_never_downloaded(
        monkeypatch, tmp_path):
    from tensorflow_datasets.core import dataset_builder

    def download_and_prepare(self, *args, **kwargs):
        pytest.fail("a download was attempted with download=False")

    monkeypatch.setattr(dataset_builder.DatasetBuilder,
                        "download_and_prepare", download_and_prepare)
    with pytest.raises(DataError) as info:
        tfds_data.load("tfds:glue/sst2", "train", data_dir=str(tmp_path),
                       download=False)
    assert str(info.value).startswith(_not_prepared(
        "tfds:glue/sst2", "glue/sst2", tmp_path,
        "and downloading is off. Prepare it on a machine with internet "
        "(`tfds build glue/sst2 --data_dir DIR`) and copy DIR/glue into"))


@pytest.mark.parametrize("task, spec", [("sentiment", "tfds:imdb_reviews"),
                                        ("ner", "tfds:conll2003")])
def test_cli_unprepared_data_set_is_one_line(cli, helpers, offline, tmp_path,
                                             task, spec):
    data_dir, out = tmp_path / "tfdsdir", tmp_path / "run"
    result = cli("train", task, "--data", spec, "--tfds-data-dir", data_dir,
                 "-o", out, "--epochs", "1", "--quiet")
    name = spec[len("tfds:"):]
    helpers.assert_one_line_error(
        result, "Error: " + _not_prepared(spec, name, data_dir, ""),
        f"`tfds build {name} --data_dir DIR`")
    assert not out.exists()


def test_prepared_data_set_without_the_split_lists_its_splits(tmp_path):
    """Prepared (metadata written) but with a `test` split only: no split
    for training, and no download is tried."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import splits as splits_lib

    builder = tfds.builder("imdb_reviews", data_dir=str(tmp_path))
    builder.info.set_splits(splits_lib.SplitDict([splits_lib.SplitInfo(
        name="test", shard_lengths=[3], num_bytes=0,
        filename_template=None)]))
    os.makedirs(builder.data_path, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)
    with pytest.raises(DataError) as info:
        tfds_data.load("tfds:imdb_reviews", "train", data_dir=str(tmp_path))
    assert str(info.value) == (
        "tfds:imdb_reviews: no split for train; available splits: ['test'] "
        "(choose one with ?split=).")
    with pytest.raises(DataError) as info:
        tfds_data.load("tfds:imdb_reviews?split=train", "train",
                       data_dir=str(tmp_path))
    assert str(info.value).startswith(
        "tfds:imdb_reviews?split=train: could not read split 'train' (")
    assert str(info.value).endswith("; available splits: ['test'].")
