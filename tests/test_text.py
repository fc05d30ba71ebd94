"""Text standardisation, tokenisation and vocabularies (TensorFlow ops)."""

import numpy as np
import pytest
import tensorflow as tf

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.pipeline import bucket_boundaries, bucketed_batches
from kerasnlp_seq.text import Vocabulary, standardize, tokenize


def tokens_of(text, **kwargs):
    return [t.decode("utf-8") for t in
            tokenize(tf.constant([text]), **kwargs).to_list()[0]]


def test_html_breaks_and_tags_are_removed():
    text = ("Great film!<br /><br />Loved it.<BR>x<br/>y"
            "<p class='a'>z</p>")
    assert tokens_of(text) == ["great", "film", "!", "loved", "it", ".",
                               "x", "y", "z"]


def test_html_kept_when_asked_and_case_kept_when_asked():
    assert tokens_of("A<br />B", strip_html=False, lowercase=False) == [
        "A", "<", "br", "/", ">", "B"]


def test_unicode_lowercase_and_punctuation_split():
    assert tokens_of("\u00c9COLE Stra\u00dfe, (ok)? don't e-mail") == [
        "\u00e9cole", "stra\u00dfe", ",", "(", "ok", ")", "?", "don't",
        "e", "-", "mail"]


def test_standardize_keeps_batch_shape():
    out = standardize(tf.constant([["A.", "B"], ["C", "D!"]]))
    assert out.shape == (2, 2)
    assert out.numpy()[1, 1] == b"d ! "


def test_tokenize_is_ragged_per_text():
    tokens = tokenize(tf.constant(["one two", "", "three"]))
    assert tokens.row_lengths().numpy().tolist() == [2, 0, 1]


def test_docstring_example():
    vocab = Vocabulary.adapt(["a good film", "a bad film"], max_size=10)
    assert vocab.encode(["a good one"]).numpy().tolist() == [[2, 5, 1]]


def test_adapt_orders_by_count_then_token_and_respects_limits():
    texts = ["b a c", "a b", "a", "d", "<br /> a"]
    vocab = Vocabulary.adapt(iter(texts), max_size=100, batch_size=2)
    assert vocab.tokens == ["a", "b", "c", "d"]
    assert vocab.size == len(vocab) == 6
    assert Vocabulary.adapt(texts, max_size=4).tokens == ["a", "b"]
    assert Vocabulary.adapt(texts, min_count=2).tokens == ["a", "b"]
    assert Vocabulary.adapt(texts, max_size=2).tokens == []


def test_encode_pads_with_zero_unknown_is_one_and_truncates():
    vocab = Vocabulary(["the", "film", "good"])
    ids = vocab.encode(tf.constant(["The film", "good GOOD zebra film !"]))
    assert ids.dtype == tf.int32
    assert ids.numpy().tolist() == [[2, 3, 0, 0, 0], [4, 4, 1, 3, 1]]
    assert vocab.encode(["good film the"], max_length=2).numpy().tolist() == [
        [4, 3]]
    assert vocab.decode([4, 1, 3, 0, 0]) == ["good", "[UNK]", "film"]


def test_empty_vocabulary_maps_everything_to_unknown():
    assert Vocabulary([]).encode(["x y"]).numpy().tolist() == [[1, 1]]


def test_save_load_round_trip_with_unicode(tmp_path):
    vocab = Vocabulary.adapt(["caf\u00e9 \u65e5\u672c a\u00a0b z", "z"])
    path = str(tmp_path / "vocab.txt")
    vocab.save(path)
    loaded = Vocabulary.load(path)
    assert loaded.tokens == vocab.tokens
    assert loaded.tokens[0] == "z"
    text = tf.constant(["\u65e5\u672c caf\u00e9 q"])
    np.testing.assert_array_equal(loaded.encode(text), vocab.encode(text))
    with pytest.raises(DataError) as info:
        Vocabulary.load(str(tmp_path / "missing.txt"))
    assert str(info.value).endswith("missing.txt: vocabulary file not found.")


def test_lookup_works_inside_graphs_and_datasets():
    vocab = Vocabulary(["a", "b"])

    @tf.function
    def encode(texts):
        return vocab.lookup(tokenize(texts)).to_tensor(0)

    assert encode(tf.constant(["b a x"])).numpy().tolist() == [[3, 2, 1]]
    ds = tf.data.Dataset.from_tensor_slices(["a", "b b"]).map(
        lambda t: vocab.lookup(tokenize(t[None]))[0])
    assert [x.numpy().tolist() for x in ds] == [[2], [3, 3]]


def test_bucket_boundaries():
    assert bucket_boundaries(8) == []
    assert bucket_boundaries(40) == [8, 16, 32]
    assert bucket_boundaries(200) == [8, 16, 32, 64, 96, 144]


def test_bucketed_batches_pad_per_batch_and_keep_every_example():
    lengths = [3, 30, 4, 31, 5, 2, 29]
    ds = tf.data.Dataset.from_generator(
        lambda: (np.arange(1, n + 1, dtype="int32") for n in lengths),
        output_signature=tf.TensorSpec([None], tf.int32))
    batches = [b.numpy() for b in
               bucketed_batches(ds, 2, 40, lambda x: tf.shape(x)[0])]
    seen = sorted(int((b != 0).sum()) for batch in batches for b in batch)
    assert seen == sorted(lengths)
    for batch in batches:
        width = batch.shape[1]
        assert max(int((b != 0).sum()) for b in batch) == width
        assert width <= 8 or width > 16  # short and long never share
    plain = list(bucketed_batches(ds, 3, 40, lambda x: tf.shape(x)[0],
                                  bucket=False))
    assert [b.shape for b in plain] == [(3, 30), (3, 31), (1, 29)]
