"""The sentiment task: data, labels, held-back split, model, predictions."""

import collections
import os

import numpy as np
import pytest

from kerasnlp_seq.classification import LabelSet, classification_metrics
from kerasnlp_seq.errors import DataError
from tasks.sentiment import SentimentConfig, SentimentTask

TINY = dict(units=4, embedding_dim=4, vocab_size=100)


def task_for(**options):
    return SentimentTask(SentimentConfig(**{**TINY, **options}))


# ------------------------------------------------------------------- data


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.csv.gz",
                                  "d.tsv.gz", "d.jsonl.gz"])
def test_reads_each_format_with_custom_columns(helpers, tmp_path, name):
    pairs = helpers.make_texts(9, classes=("2", "10", "1"), seed=1)
    pairs[0] = ('He said "wow, really", then\tleft', "2")
    if "tsv" in name:  # a tab cannot live inside a TSV field
        pairs[0] = ('He said "wow, really", then left', "2")
    path = helpers.write_table(tmp_path / name, pairs,
                               columns=("review", "stars"))
    task = task_for(text_column="review", label_column="stars")
    records = task.read(path, "train")
    assert [(r["text"], r["label"]) for r in records] == pairs
    assert all(r["_source"] == path for r in records)
    task.adapt(records)
    assert task.labels.names == ["1", "2", "10"]  # integers sort as numbers


def test_headerless_tsv_by_index_and_forced_format(tmp_path):
    path = tmp_path / "d.data"
    path.write_text("pos\tgood film\nneg\tbad film\n")
    task = task_for(text_column="1", label_column="0", header=False,
                    format="tsv")
    records = task.read(str(path), "train")
    assert [(r["text"], r["label"]) for r in records] == [
        ("good film", "pos"), ("bad film", "neg")]


def test_class_folders_ignore_unsup_and_br_tags_are_cleaned(tmp_path):
    root = tmp_path / "aclImdb" / "train"
    texts = {"pos": ["A <b>superb</b> film.<br /><br />Loved it!",
                     "Great<br/>fun."],
             "neg": ["Dull.<br />Boring plot."],
             "unsup": ["unlabelled words zzz"]}
    for label, items in texts.items():
        os.makedirs(root / label)
        for i, text in enumerate(items):
            (root / label / f"{i}_1.txt").write_text(text)
    task = task_for()
    records = task.read(str(root), "train")
    assert sorted(r["label"] for r in records) == ["neg", "pos", "pos"]
    task.adapt(records)
    assert task.labels.names == ["neg", "pos"]
    vocab = set(task.vocab.tokens)
    assert {"superb", "loved", "great", "fun", "dull", "boring"} <= vocab
    assert not vocab & {"br", "<", ">", "/", "b", "zzz", "unlabelled"}
    ids = task.encode_texts(np.array(["Great<br />fun"])).numpy().tolist()
    assert ids == task.encode_texts(np.array(["great fun"])).numpy().tolist()


def test_label_sets():
    assert LabelSet.from_labels(["pos", "neg", "pos"]).names == ["neg", "pos"]
    assert LabelSet.from_labels(["10", "9", "-1"]).names == ["-1", "9", "10"]
    assert LabelSet.from_labels(["b", "a"], names=["b", "a"]).names == [
        "b", "a"]
    with pytest.raises(DataError) as info:
        LabelSet.from_labels(["x", "x"], source="d.tsv")
    assert str(info.value).startswith("d.tsv: only one class ['x']")
    labels = LabelSet(["neg", "pos"])
    assert labels.encode(["pos", "neg"]).tolist() == [1, 0]
    with pytest.raises(DataError) as info:
        labels.encode(["pos", "meh"], source="e.tsv", lines=[2, 7])
    assert str(info.value).startswith(
        "e.tsv:7: label 'meh' was not seen in training")


def test_stratified_split_keeps_class_shares_and_is_seeded():
    examples = ([{"text": f"p{i}", "label": "pos"} for i in range(50)]
                + [{"text": f"n{i}", "label": "neg"} for i in range(30)]
                + [{"text": f"u{i}", "label": "neu"} for i in range(20)]
                + [{"text": "lonely", "label": "rare"}])
    task = task_for()
    train, valid = task.split_validation(examples, 0.2, seed=5)
    assert collections.Counter(e["label"] for e in valid) == {
        "pos": 10, "neg": 6, "neu": 4}
    assert len(train) + len(valid) == len(examples)
    assert {e["text"] for e in train} | {e["text"] for e in valid} == {
        e["text"] for e in examples}
    assert "lonely" in {e["text"] for e in train}
    again = task.split_validation(examples, 0.2, seed=5)
    assert again == (train, valid)
    other = task.split_validation(examples, 0.2, seed=6)
    assert {e["text"] for e in other[1]} != {e["text"] for e in valid}
    two = [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}]
    tr, va = task.split_validation(two, 0.01, seed=0)
    assert len(tr) == len(va) == 1


def test_encode_truncates_from_the_chosen_side_and_keeps_empty_texts():
    records = [{"text": "a b c d e", "label": "x"},
               {"text": "f", "label": "y"}]
    pre, post = task_for(max_length=3), task_for(max_length=3,
                                                 truncating="post")
    for task in (pre, post):
        task.adapt(records)
    vocab = pre.vocab
    ids = lambda t: [vocab.decode(r) for r in  # noqa: E731
                     t.encode_texts(np.array(["a b c d e", ""])).numpy()]
    assert ids(pre) == [["c", "d", "e"], []]
    assert ids(post) == [["a", "b", "c"], []]
    assert pre.encode_texts(np.array([""])).shape == (1, 1)


# ----------------------------------------------------------------- model


@pytest.mark.parametrize("options", [
    dict(pooling="max_mean"), dict(pooling="last", cell="lstm"),
    dict(representation="word_char", char_filters=4, char_embedding_dim=4)])
def test_padding_does_not_change_predictions(helpers, options):
    """Alone or batched with longer texts: same probabilities (untrained,
    bidirectional: padding must be masked in both directions)."""
    import keras

    keras.utils.set_random_seed(0)
    records = [{"text": t, "label": y}
               for t, y in helpers.make_texts(30, seed=2)]
    task = task_for(**options)
    task.adapt(records)
    model = task.build_model()
    short = ["Good film.", "bad"]
    batch = short + ["The plot was dull and boring and awful " * 5,
                     "great " * 30, ""]
    alone = np.concatenate([task.probabilities(model, [t]) for t in short])
    together = task.probabilities(model, batch)
    np.testing.assert_allclose(alone, together[:2], atol=1e-5)
    assert together.shape == (5, 3)
    np.testing.assert_allclose(together.sum(-1), 1.0, atol=1e-5)


def test_trained_run_padding_invariance_and_evaluate_consistency(
        trained_run, loaded_run):
    from kerasnlp_seq import runs

    task, model, _ = loaded_run
    texts = ["A lovely film.", "awful", "okay " * 40, "superb " * 3]
    together = task.probabilities(model, texts)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(task.probabilities(model, [text])[0],
                                   together[i], atol=1e-5)
    metrics = runs.evaluate(trained_run.run_dir, trained_run.data)
    probs = task.probabilities(model, [t for t, _ in trained_run.pairs])
    y = task.labels.encode([label for _, label in trained_run.pairs])
    expected = classification_metrics(y, probs, task.labels.names)
    assert metrics == pytest.approx(expected, abs=1e-6)
    assert metrics["accuracy"] > 1 / 3  # it learned something


def test_evaluate_reads_other_columns_with_set(trained_run, cli, helpers,
                                              tmp_path):
    import json

    from kerasnlp_seq import runs

    # The run read TSV `text`/`label`; the same pairs as CSV under other
    # column names score the same once --set names the columns.
    other = helpers.write_table(tmp_path / "reviews.csv", trained_run.pairs,
                                columns=("review", "stars"))
    want = runs.evaluate(trained_run.run_dir, trained_run.data)
    result = cli("evaluate", trained_run.run_dir, "--data", other, "--json",
                 "--set", "text_column=review", "--set", "label_column=stars")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == pytest.approx(want)
    result = cli("evaluate", trained_run.run_dir, "--data", other)
    helpers.assert_one_line_error(result, "reviews.csv")


def test_keras_file_reloads_in_safe_mode_with_same_predictions(
        trained_run, loaded_run):
    import keras
    import tensorflow as tf

    import kerasnlp_seq.layers  # noqa: F401  (registers custom layers)

    task, run_model, _ = loaded_run
    model = keras.saving.load_model(
        os.path.join(trained_run.run_dir, "model.keras"), safe_mode=True)
    texts = ["Great, lovely film!", "dull and poor", "an average story"]
    answers = task.predict(run_model, texts)
    probs = model.predict(task.encode_texts(tf.constant(texts)), verbose=0)
    expected = np.array([[a["probabilities"][n] for n in task.labels.names]
                         for a in answers])
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert [a["label"] for a in answers] == [
        task.labels.names[k] for k in probs.argmax(-1)]


def test_stacked_bidirectional_model_round_trips_through_keras_file(
        helpers, tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    records = [{"text": t, "label": y}
               for t, y in helpers.make_texts(12, seed=4)]
    task = task_for(residual=True, num_layers=2, pooling="max",
                    cell="simple_rnn", merge_mode="sum")
    task.adapt(records)
    model = task.build_model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = task.load_model(path)
    texts = ["good", "bad awful film " * 4, ""]
    together = task.probabilities(reloaded, texts)
    np.testing.assert_allclose(together, task.probabilities(model, texts),
                               atol=1e-6)
    # Two stacked bidirectional layers: padding still masked.
    np.testing.assert_allclose(task.probabilities(reloaded, ["good"])[0],
                               together[0], atol=1e-5)


def test_word_dropout_drops_whole_words_in_training_only(helpers):
    """`word_dropout` zeroes a token's whole embedding (never part of it),
    only in training; prediction is deterministic and padding stays masked.
    Off by default: no layer."""
    import keras

    from kerasnlp_seq.errors import ConfigError

    records = [{"text": t, "label": y}
               for t, y in helpers.make_texts(30, seed=2)]
    task = task_for(word_dropout=0.5)
    task.adapt(records)
    keras.utils.set_random_seed(3)
    model = task.build_model()
    layer = model.get_layer("word_dropout")
    x = np.ones((4, 50, 6), "float32")
    dropped = keras.ops.convert_to_numpy(layer(x, training=True))
    per_token = dropped.max(-1)
    assert set(np.unique(dropped)) == {0.0, 2.0}
    np.testing.assert_array_equal(dropped.min(-1), per_token)  # whole words
    assert 0.3 < (per_token == 0).mean() < 0.7
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(x, training=False)), x)
    texts = ["Good film.", "bad " * 20, ""]
    together = task.probabilities(model, texts)
    np.testing.assert_allclose(task.probabilities(model, texts), together)
    np.testing.assert_allclose(task.probabilities(model, texts[:1])[0],
                               together[0], atol=1e-5)
    plain = task_for()
    plain.adapt(records)
    assert "word_dropout" not in [
        layer.name for layer in plain.build_model().layers]
    with pytest.raises(ConfigError, match=r"`word_dropout`"):
        SentimentConfig(word_dropout=1.0)


# ------------------------------------------------------------ the pooling


def test_masked_pooling_ignores_padding_and_round_trips():
    from kerasnlp_seq.layers import MaskedGlobalPooling

    x = np.array([[[1., -2.], [3., 4.], [100., 100.]],
                  [[-5., -6.], [-1., -1.], [-7., 2.]],
                  [[9., 9.], [9., 9.], [9., 9.]]], dtype="float32")
    mask = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0]], dtype=bool)
    out = MaskedGlobalPooling("max_mean")(x, mask=mask).numpy()
    np.testing.assert_allclose(out, [
        [3., 4., 2., 1.],
        [-1., 2., -13 / 3, -5 / 3],
        [0., 0., 0., 0.]], rtol=1e-6)
    np.testing.assert_allclose(MaskedGlobalPooling("max")(x).numpy(),
                               x.max(axis=1))
    layer = MaskedGlobalPooling("mean", name="p")
    assert layer.compute_output_shape((None, 7, 3)) == (None, 3)
    assert MaskedGlobalPooling("max_mean").compute_output_shape(
        (2, 7, 3)) == (2, 6)
    assert MaskedGlobalPooling.from_config(layer.get_config()).mode == "mean"
    with pytest.raises(ValueError, match="Received: mode='sum'"):
        MaskedGlobalPooling("sum")


def test_python_train_without_a_train_config_uses_the_task_defaults(
        helpers, tmp_path, monkeypatch):
    # `runs.train(...)` from a script must train what the CLI trains, the
    # task's own TrainConfig defaults (e.g. NER's clipnorm 5), not the
    # bare TrainConfig's. Patched to a quick recipe whose every value
    # differs from TrainConfig's.
    import json

    from kerasnlp_seq import runs

    monkeypatch.setattr(SentimentTask, "train_defaults",
                        {"epochs": 1, "batch_size": 7, "patience": 9,
                         "clipnorm": 2.5})
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos")))
    run_dir, _ = runs.train(
        "sentiment", data=data, output=str(tmp_path / "run"), verbose=0,
        task_config=SentimentConfig(units=4, embedding_dim=4, vocab_size=50,
                                    bidirectional=False),
        echo=lambda *_: None)
    with open(os.path.join(run_dir, "config.json")) as f:
        saved = json.load(f)["train_config"]
    assert (saved["epochs"], saved["batch_size"], saved["patience"],
            saved["clipnorm"]) == (1, 7, 9, 2.5)
