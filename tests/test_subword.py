"""Reversible tokenization (words and BPE-learned WordPiece units), in TF ops.

Round trips back to the original text, a Python reference for WordPiece's
greedy longest match, unknown characters, saving and reloading, and the same
results inside a `tf.function` with a dynamic batch.
"""

import random

import pytest
import tensorflow as tf

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.seq_tokenizers import (END_ID, JOINER, OOV_ID, START_ID,
                                         WordTokenizer, join_tokens,
                                         load_tokenizer, pretokenize)
from kerasnlp_seq.subword import (SUFFIX, SubwordTokenizer, learn_bpe,
                                  wordpiece_ids)
from kerasnlp_seq.text import Vocabulary

TEXTS = ["Hello, world...", "Don't stop (now)!  ¿Qué tal?",
         'a-b 3.5% "quoted" -- end', "Zwei Männer gehen über die Straße.",
         "tab\there\u00a0nbsp", "ünïcödé 日本語 ok", "x", ""]


def texts_of(tensor):
    return [t.decode("utf-8") for t in tensor.numpy().tolist()]


def normalized(text):
    return " ".join(text.split())


def test_pretokenize_cuts_punctuation_and_marks_joins():
    tokens = pretokenize(["Hello, world...", "(a) b"]).to_list()
    assert [t.decode() for t in tokens[0]] == [
        "Hello", JOINER + ",", "world", JOINER + ".", JOINER + ".",
        JOINER + "."]
    assert [t.decode() for t in tokens[1]] == ["(", JOINER + "a",
                                               JOINER + ")", "b"]
    # A joiner in the input is white space, never a mark.
    assert pretokenize([f"a{JOINER}b"]).to_list() == [[b"a", b"b"]]


def test_pretokenize_and_join_round_trip():
    tokens = pretokenize(TEXTS)
    assert texts_of(join_tokens(tokens)) == [normalized(t) for t in TEXTS]
    lowered = texts_of(join_tokens(pretokenize(TEXTS, lowercase=True)))
    assert lowered[3] == "zwei männer gehen über die straße."


@pytest.mark.parametrize("cls", [WordTokenizer, SubwordTokenizer])
def test_tokenizers_round_trip_and_reserve_ids(cls, tmp_path):
    tok = cls.adapt(TEXTS * 2, 400)
    ids = tok.encode(TEXTS)
    flat = ids.flat_values.numpy()
    assert flat.min() > END_ID  # every character of TEXTS is known
    assert texts_of(tok.decode(ids.to_tensor())) == [normalized(t)
                                                     for t in TEXTS]
    # Start, end and padding never show in the text; decoding stops at end.
    row = ids.to_list()[0]
    padded = tf.constant([[START_ID] + row + [END_ID] + row + [0, 0]])
    assert texts_of(tok.decode(padded)) == ["Hello, world..."]
    meta = tok.save(str(tmp_path), "source")
    again = load_tokenizer(str(tmp_path), meta)
    assert type(again) is cls and again.size == tok.size == meta["size"]
    assert again.encode(TEXTS).to_list() == ids.to_list()


@pytest.mark.parametrize("cls", [WordTokenizer, SubwordTokenizer])
def test_unknown_characters_become_the_oov_id(cls):
    tok = cls.adapt(["a cat sat."], 100)
    ids = tok.encode(["a dog € sat."]).to_list()[0]
    assert OOV_ID in ids and len(ids) >= 4
    text = texts_of(tok.decode(tf.constant([ids])))[0]
    assert text.startswith("a ") and text.endswith(" sat.")
    assert "[UNK]" in text


def test_word_vocabulary_size_and_order():
    tok = WordTokenizer.adapt(["b b b a a c"], max_size=6)
    assert tok.size == 6
    assert tok.tokens == ["[PAD]", "[UNK]", "[START]", "[END]", "b", "a"]
    assert tok.encode(["c a b"]).to_list() == [[OOV_ID, 5, 4]]
    with pytest.raises(DataError, match=r"starts with \[START\] and \[END\]"):
        WordTokenizer(Vocabulary(["a", "b"]))


def test_learn_bpe_merges_frequent_pairs_first():
    units = learn_bpe({"low": 5, "lower": 2, "newest": 6, "widest": 3},
                      max_size=100)
    alphabet = {"l", "n", "w", "##o", "##w", "##e", "##r", "##s", "##t",
                "##i", "##d"}
    assert alphabet <= set(units[:len(alphabet)])
    merged = units[len(alphabet):]
    assert merged[0] == "##es"  # 9 times: newest + widest
    assert "##est" in merged and "low" in merged and "newest" in merged
    capped = learn_bpe({"low": 5, "lower": 2, "newest": 6, "widest": 3},
                       max_size=13)
    assert len(capped) == 13 and capped == units[:13]
    # Pairs seen once are never merged.
    assert sorted(learn_bpe({"ab": 1}, 10)) == ["##b", "a"]


def reference_wordpiece(word, vocab):
    """BERT's greedy longest-match-first, in Python."""
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = (SUFFIX if start else "") + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces


def test_wordpiece_matches_a_python_reference():
    rng = random.Random(0)
    words = ["".join(rng.choice("abcdé") for _ in range(rng.randint(1, 9)))
             for _ in range(300)]
    units = learn_bpe({w: rng.randint(1, 5) for w in words[:150]}, 60)
    vocab = Vocabulary(["[START]", "[END]"] + units)
    tokens = ["[PAD]", "[UNK]"] + vocab.tokens
    longest = max(len(u.replace(SUFFIX, "")) for u in units)
    words += ["x", "abx", "a" * 101]
    ids = wordpiece_ids(tf.constant(words), vocab.table, longest)
    got = [[tokens[i] for i in row] for row in ids.to_list()]
    assert got == [reference_wordpiece(w, set(units)) for w in words]


def test_subword_splits_unseen_words_into_known_units():
    tok = SubwordTokenizer.adapt(["walking talking walked talked"] * 3, 30)
    pieces = tok.pieces(tok.encode(["walkalked"]).to_tensor()).to_list()[0]
    assert b"".join(p.replace(b"##", b"") for p in pieces) == b"walkalked"
    assert pieces == [b"w", b"##alk", b"##alked"]  # longest match first


def test_tokenizers_run_in_a_graph_with_any_batch():
    tok = SubwordTokenizer.adapt(TEXTS, 200)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def round_trip(texts):
        return tok.decode(tok.encode(texts).to_tensor())

    for batch in (TEXTS[:1], TEXTS, [""]):
        assert texts_of(round_trip(tf.constant(batch))) == [
            normalized(t) for t in batch]
