"""Pretrained word vectors: formats, lower-case fallback, coverage, bad files."""

import gzip
import json
import logging
import os

import numpy as np
import pytest

from kerasnlp_seq.embeddings import (embedding_matrix, format_coverage,
                                     read_vectors, vector_words)
from kerasnlp_seq.errors import DataError

GLOVE = "the 0.1 0.2 0.3\nparis 1 2 3\n. . . 4 5 6\nParis 7 8 9\n"


def write(path, text, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def test_glove_word2vec_and_gzip_read_the_same(tmp_path):
    glove = write(tmp_path / "v.txt", GLOVE)
    w2v = write(tmp_path / "v.w2v.txt", "4 3\n" + GLOVE)
    gz = write(tmp_path / "v.txt.gz", GLOVE, gz=True)
    expected, dim = read_vectors(glove)
    assert dim == 3 and sorted(expected) == [". . .", "Paris", "paris", "the"]
    np.testing.assert_array_equal(expected["paris"], [1, 2, 3])
    for path in (w2v, gz):
        vectors, d = read_vectors(path)
        assert d == 3 and sorted(vectors) == sorted(expected)
        for word in expected:
            np.testing.assert_array_equal(vectors[word], expected[word])
    only, _ = read_vectors(glove, wanted={"the"})
    assert list(only) == ["the"]


def test_matrix_uses_exact_then_lower_cased_vectors(tmp_path):
    path = write(tmp_path / "v.txt", GLOVE)
    words = ["Paris", "The", "zzz", "paris"]
    matrix, coverage = embedding_matrix(words, path, seed=1)
    assert matrix.shape == (6, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)                 # padding
    np.testing.assert_array_equal(matrix[2], [7, 8, 9])           # exact
    np.testing.assert_allclose(matrix[3], [0.1, 0.2, 0.3])        # the
    np.testing.assert_array_equal(matrix[5], [1, 2, 3])           # exact
    assert np.all(np.abs(matrix[[1, 4]]) <= np.sqrt(3 / 3))       # random
    assert (coverage["exact"], coverage["lower"], coverage["missing"],
            coverage["words"]) == (2, 1, 1, 4)
    assert "3 of 4 vocabulary words found (75.0%: 2 exact, 1 lower-cased)" \
        in format_coverage(coverage)


@pytest.mark.parametrize("text, line, message", [
    ("a 1 2 3\nb 1 2\n", 2, "inconsistent vector dimension: expected 3 "
     "values (as on line 1), found 2."),
    ("a 1 2\nb 1 2 3\n", 2, "inconsistent vector dimension: expected 2 "
     "values (as on line 1), found 3."),
    ("2 3\na 1 2 3\nb 1 2\n", 3, "expected 3 values (as on line 1), found 2"),
    ("a 1 x\n", 1, "found a value that is not a number"),
    ("lonely\n", 1, "expected a word followed by its vector values"),
])
def test_bad_vectors_files_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path / "bad.txt", text)
    with pytest.raises(DataError) as info:
        read_vectors(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_empty_and_missing_files(tmp_path):
    empty = write(tmp_path / "empty.txt", "")
    with pytest.raises(DataError, match="no vectors found"):
        read_vectors(empty)
    with pytest.raises(DataError, match="file not found"):
        read_vectors(str(tmp_path / "nope.txt"))


def test_tagger_starts_from_the_vectors(tmp_path):
    from tasks.ner import NERConfig, NERTask

    path = write(tmp_path / "v.txt", GLOVE.replace("paris 1 2 3\n", ""))
    examples = [{"tokens": ["Paris", "rejects", "the", "plan"],
                 "tags": ["B-LOC", "O", "O", "O"]}]
    task = NERTask(NERConfig(embeddings=path, embedding_dim=50, units=4,
                             char_encoder="none", lowercase=False))
    task.adapt(examples)
    assert task.coverage["exact"] == 2 and task.coverage["missing"] == 2
    model = task.build_model()
    weights = model.get_layer("word_embedding").get_weights()[0]
    assert weights.shape == (6, 3)  # the vectors' width wins over 50
    for word, vector in (("Paris", [7, 8, 9]), ("the", [0.1, 0.2, 0.3])):
        index = task.encoder.words.tokens.index(word) + 2
        np.testing.assert_allclose(weights[index], vector)
    task.save_assets(str(tmp_path))
    with open(tmp_path / "tags.json") as f:
        assert json.load(f)["embeddings"]["exact"] == 2


@pytest.mark.parametrize("task", ["ner", "sentiment"])
def test_cli_bad_vectors_file_is_one_line_and_leaves_nothing(
        cli, helpers, tmp_path, task):
    bad = write(tmp_path / "bad.txt", "a 1 2 3\nb 1 2\n")
    out = tmp_path / "run"
    result = cli("train", task, "--embeddings", bad, "--output", out)
    helpers.assert_one_line_error(result, f"{bad}:2: inconsistent vector "
                                  "dimension")
    assert not out.exists()


def test_text_classifier_starts_from_the_vectors_and_reloads(tmp_path):
    from kerasnlp_seq.errors import ConfigError
    from tasks.sentiment import SentimentConfig, SentimentTask

    path = write(tmp_path / "v.txt", GLOVE)
    examples = [{"text": "Paris is the plan", "label": "pos"},
                {"text": "the plan fails", "label": "neg"}]
    task = SentimentTask(SentimentConfig(embeddings=path, embedding_dim=50,
                                         units=4, vectors_vocab=0))
    task.adapt(examples)  # lower-cased: paris, is, the, plan, fails
    assert (task.coverage["exact"], task.coverage["missing"]) == (2, 3)
    weights = task.build_model().get_layer("embedding").get_weights()[0]
    assert weights.shape == (task.vocab.size, 3)  # the vectors' width wins
    for word, vector in (("paris", [1, 2, 3]), ("the", [0.1, 0.2, 0.3])):
        np.testing.assert_allclose(
            weights[task.vocab.tokens.index(word) + 2], vector)
    np.testing.assert_array_equal(weights[0], 0.0)

    task.save_assets(str(tmp_path))
    again = SentimentTask(task.config)  # e.g. --resume: same width, no read
    again.load_assets(str(tmp_path))
    assert again.coverage == task.coverage
    resumed = again.build_model().get_layer("embedding").get_weights()[0]
    assert resumed.shape == (task.vocab.size, 3)
    np.testing.assert_array_equal(resumed, weights)  # read again, same rows

    with pytest.raises(ConfigError, match="--word2vec need word input"):
        SentimentConfig(embeddings=path, representation="char")


def test_vector_words_in_file_order_skip_known_words_and_stop_at_limit(
        tmp_path):
    path = write(tmp_path / "v.txt.gz", "5 2\nThe 1 0\nthe 3 3\nfilm 0 1\n"
                 "Superb 2 2\nplot 1 1\n", gz=True)
    assert vector_words(path, 10) == ["The", "the", "film", "Superb", "plot"]
    assert vector_words(path, 2, exclude={"film"}, lowercase=True) == [
        "the", "superb"]
    assert vector_words(path, 0) == []
    glove = write(tmp_path / "glove.txt", GLOVE)  # ". . ." holds spaces
    assert vector_words(glove, 10, exclude={"the"}) == ["paris", ". . .",
                                                        "Paris"]


def test_frozen_vectors_and_words_added_from_the_vectors_file(tmp_path,
                                                              caplog):
    import keras
    import tensorflow as tf

    from kerasnlp_seq.errors import ConfigError
    from tasks.sentiment import SentimentConfig, SentimentTask

    path = write(tmp_path / "v.txt", "the 1 0\nmovie 0 1\nsuperb 2 2\n")
    examples = [{"text": "the film", "label": "pos"},
                {"text": "the plot", "label": "neg"}]
    task = SentimentTask(SentimentConfig(
        embeddings=path, freeze_embeddings=True, vectors_vocab=5, units=4))
    task.adapt(examples)
    assert task.vocab.tokens[-2:] == ["movie", "superb"]  # unseen in train
    assert task.coverage["added"] == 2
    assert "2 of the words added from the vectors file" in format_coverage(
        task.coverage)
    ids = task.encode_texts(tf.constant(["superb movie"])).numpy()
    assert ids.tolist() == [[task.vocab.tokens.index("superb") + 2,
                             task.vocab.tokens.index("movie") + 2]]

    model = task.build_model()
    layer = model.get_layer("embedding")
    before = layer.get_weights()[0]
    np.testing.assert_array_equal(before[ids[0]], [[2, 2], [0, 1]])
    assert not layer.trainable
    model.compile(optimizer=keras.optimizers.Adam(0.1),
                  **task.compile_args())
    x = task.encode_texts(tf.constant([ex["text"] for ex in examples]))
    model.fit(x, task.targets(examples), epochs=2, verbose=0)
    np.testing.assert_array_equal(layer.get_weights()[0], before)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert not again.get_layer("embedding").trainable

    # A resumed run rebuilds its model from the saved assets: still frozen,
    # same vectors; without the file it warns and starts random.
    task.save_assets(str(tmp_path))
    resumed = SentimentTask(task.config)
    resumed.load_assets(str(tmp_path))
    layer = resumed.build_model().get_layer("embedding")
    assert not layer.trainable
    np.testing.assert_array_equal(layer.get_weights()[0], before)
    os.remove(path)
    with caplog.at_level(logging.WARNING, logger="kerasnlp_seq"):
        layer = resumed.build_model().get_layer("embedding")
    assert f"pretrained vectors {path} not found" in caplog.text
    assert not layer.trainable

    # Asked for with nothing to apply them to: an error. Sentiment's own
    # defaults (frozen, 50000 added words) are no request: they apply
    # when vectors exist.
    from tasks.spam import SpamConfig

    for options, asked in (({"freeze_embeddings": True},
                            "--freeze-embeddings"),
                           ({"vectors_vocab": 10}, "--vectors-vocab")):
        with pytest.raises(ConfigError, match=f"^{asked} need --embeddings"):
            SpamConfig(**options)
    with pytest.raises(ConfigError, match="^--vectors-vocab need"):
        SentimentConfig(word2vec="off", vectors_vocab=10)
    SentimentConfig(word2vec="off")


def test_word2vec_vectors_from_the_training_texts_seeded_frozen_resumed(
        tmp_path, helpers, caplog):
    """--word2vec trains skip-gram vectors on the training texts (no file
    given), the same on every run; frozen, they survive training, and a
    resumed run (vectors gone) keeps the checkpoint's without a warning."""
    from kerasnlp_seq.errors import ConfigError
    from kerasnlp_seq.word2vec import tokenized, train_word2vec
    from tasks.sentiment import SentimentConfig, SentimentTask

    examples = [{"text": t, "label": y, "_source": "train.tsv"}
                for t, y in helpers.make_texts(80, seed=5)]
    config = SentimentConfig(word2vec="on", word2vec_epochs=2,
                             embedding_dim=8, units=4, vocab_size=6,
                             vectors_vocab=100, freeze_embeddings=True)
    task = SentimentTask(config)
    task.adapt(examples)
    with caplog.at_level(logging.INFO, logger="kerasnlp_seq"):
        task.build_model()  # what adapting did goes to the run's train.log
    assert "word2vec on train.tsv: 80 texts, 683 tokens -> 31 words x 8" \
        in caplog.text
    assert task.coverage["file"] == "word2vec on train.tsv"
    # 4 real words kept by vocab_size, the rest added from the vectors:
    # every word seen twice or more has a vector.
    assert task.coverage["added"] == task.vocab.size - 6 > 0
    assert task.coverage["exact"] == task.vocab.size - 2
    assert task.coverage["dim"] == 8

    path = str(tmp_path / "w2v.txt")
    _, stats = train_word2vec(
        list(tokenized(ex["text"] for ex in examples)), path, dim=8,
        epochs=2)
    assert stats["words"] == task.vocab.size - 2
    vectors, _ = read_vectors(path)
    model = task.build_model()
    layer = model.get_layer("embedding")
    weights = layer.get_weights()[0]
    for word in task.vocab.tokens:  # seeded: the same vectors again
        np.testing.assert_allclose(
            weights[task.vocab.tokens.index(word) + 2], vectors[word],
            rtol=1e-5)
    assert not layer.trainable

    task.save_assets(str(tmp_path))
    resumed = SentimentTask(config)
    resumed.load_assets(str(tmp_path))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="kerasnlp_seq"):
        layer = resumed.build_model().get_layer("embedding")
    assert not layer.trainable and not caplog.text
    assert resumed.coverage == task.coverage

    with pytest.raises(TypeError, match="lists of tokens"):
        train_word2vec(["a text"], path)
    with pytest.raises(DataError, match="no word occurs 1000 times"):
        SentimentTask(SentimentConfig(
            word2vec="on", word2vec_min_count=1000)).adapt(examples)
    with pytest.raises(ConfigError, match="exclude each other"):
        SentimentConfig(word2vec="on", embeddings=path)
    with pytest.raises(ConfigError, match="--word2vec need word input"):
        SentimentConfig(word2vec="on", representation="char")


def test_word2vec_auto_needs_enough_text_and_yields_to_a_vectors_file(
        tmp_path, helpers, caplog):
    """Sentiment's default, `--word2vec auto`: too little text keeps a
    random, trained embedding (the bundled sample, SST-2); enough trains
    vectors; an `--embeddings` file wins; characters alone ignore it."""
    from kerasnlp_seq.word2vec import tokenized
    from tasks.sentiment import SentimentConfig, SentimentTask

    examples = [{"text": t, "label": y}
                for t, y in helpers.make_texts(80, seed=5)]
    tokens = sum(len(words) for words in tokenized(
        ex["text"] for ex in examples))  # the toolkit splits off "."
    small = SentimentTask(SentimentConfig(units=4, embedding_dim=8))
    assert small.config.word2vec == "auto"
    small.adapt(examples)
    with caplog.at_level(logging.INFO, logger="kerasnlp_seq"):
        layer = small.build_model().get_layer("embedding")
    assert f"--word2vec auto: {tokens} training tokens, fewer than " \
           "--word2vec-min-tokens 1000000" in caplog.text
    assert small.coverage is None and small.vocab.size <= 5000
    assert layer.trainable  # frozen would keep random vectors: never
    small.save_assets(str(tmp_path))
    assert not os.path.exists(tmp_path / "embeddings.json")

    enough = SentimentTask(SentimentConfig(
        units=4, embedding_dim=8, word2vec_min_tokens=tokens))
    enough.adapt(examples)
    assert enough.coverage["file"] == "word2vec on training data"
    assert not enough.build_model().get_layer("embedding").trainable

    path = write(tmp_path / "v.txt", "the 1 0\nmovie 0 1\n")
    given = SentimentTask(SentimentConfig(
        units=4, embeddings=path, word2vec_min_tokens=0))
    given.adapt(examples)
    assert given.coverage["file"] == path and given.coverage["dim"] == 2
    chars = SentimentTask(SentimentConfig(
        units=4, representation="char", word2vec_min_tokens=0))
    chars.adapt(examples)
    assert chars.coverage is None
