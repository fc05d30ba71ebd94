"""The options of a recurrent sequence tagger, as one flat frozen dataclass.

`TaggerConfig` holds what a token-tagging task (NER, POS, chunking) reads
and builds: the data (`tagged_data.read_tagged`: format, token and tag
columns, TFDS), the tag schemes (`tag_set`: the data's, declared or
detected, and the one the model trains in), the token features
(`token_encoder.TokenEncoder`: words, optional pretrained vectors,
characters, casing), the model (`tagger.build_sequence_tagger`: recurrent
layers and a CRF or softmax head) and the batches (`sentence_tagging`:
length buckets, document windows). A task subclasses it to change
defaults (`tasks/ner.py`). Every check runs in `__post_init__`, so a bad
value fails before any data is read.

Example:

>>> config = TaggerConfig(head="softmax", units=8)
>>> config.units, config.cell, config.train_scheme
(8, 'lstm', 'bioes')
>>> TaggerConfig(dropout=1.0)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kerasnlp_seq.errors.ConfigError: ...dropout...
"""

import dataclasses
import typing

from kerasnlp_seq.config import check_range, choice, option, validate_choices


@dataclasses.dataclass(frozen=True)
class TaggerConfig:
    """Options of a sequence tagger (data, tags, features, model)."""

    format: typing.Optional[str] = choice(
        None, [None, "conll", "jsonl"],
        "File format (default: jsonl for .jsonl/.json files, else conll).")
    token_column: str = option(
        "0", "CoNLL token column (index or name); a JSON key for JSON lines.")
    tag_column: str = option(
        "-1", "Tag column: index (-1 = last) or a name from --columns "
        "(ner, pos, chunk); a JSON key (default tags) for JSON lines; a "
        "TFDS feature for tfds: data.")
    columns: str = option("token,pos,chunk,ner",
                          "Names of the CoNLL columns, for names above.")
    scheme: str = choice("auto", ["auto", "iob1", "iob2", "bioes", "none"],
                         "Tag scheme of the data (none: no entities, POS).")
    train_scheme: str = choice(
        "bioes", ["bioes", "iob2", "same"],
        "Scheme the model is trained in (same: the data's).")
    tfds_data_dir: typing.Optional[str] = option(
        None, "TFDS data directory (prepared data loads offline).")
    embeddings: typing.Optional[str] = option(
        None, "Pretrained word vectors (GloVe / word2vec text, gzip ok).")
    vocab_size: int = option(100000, "Word vocabulary size (pad, OOV incl.).")
    lowercase: bool = option(True, "Lower-case words for the word lookup.")
    normalize_digits: bool = option(True, "Map digits to 0 for the lookup.")
    unk_rate: float = option(
        0.5, "Training rate at which words seen once become unknown.")
    embedding_dim: int = option(
        100, "Word embedding width (the vectors' width with --embeddings).")
    char_encoder: str = choice("cnn", ["cnn", "lstm", "none"],
                               "Character features per token.")
    char_vocab_size: int = option(100, "Character vocabulary size.")
    char_embedding_dim: int = option(30, "Character embedding width.")
    char_units: int = option(
        50, "CNN filters, or character LSTM units per direction.")
    char_kernel_size: int = option(3, "Character CNN n-gram width.")
    max_word_chars: int = option(20, "Characters kept per token.")
    casing: bool = option(True, "Add casing-class features.")
    cell: str = choice("lstm", ["simple_rnn", "lstm", "gru"],
                       "Recurrent cell.")
    units: int = option(100, "Units per recurrent layer and direction.")
    num_layers: int = option(1, "Stacked recurrent layers.")
    bidirectional: bool = option(True, "Bidirectional recurrent layers.")
    dropout: float = option(0.5, "Dropout between/after recurrent layers.")
    embedding_dropout: float = option(0.5, "Dropout on token features.")
    recurrent_dropout: float = option(
        0.0, "Recurrent-state dropout (disables cuDNN).")
    head: str = choice("crf", ["crf", "softmax"], "Output layer.")
    crf_constraints: bool = option(
        True, "CRF head, IOB2 or BIOES training tags: forbid the transitions "
        "the scheme does not allow (e.g. I-PER after O), in training and "
        "decoding, so every decoded sequence is well-formed.")
    bucket: bool = option(True, "Batch sentences of similar length.")
    doc_context: int = option(
        0, "Tag consecutive sentences of one document (-DOCSTART- in CoNLL, "
        "a doc key in JSON lines) together, in windows of up to N tokens; "
        "batch_size then counts windows (0: one sentence at a time).")

    def __post_init__(self):
        validate_choices(self)
        for name in ("vocab_size", "char_vocab_size"):
            check_range(self, name, 3)
        for name in ("embedding_dim", "char_embedding_dim", "char_units",
                     "char_kernel_size", "max_word_chars", "units",
                     "num_layers"):
            check_range(self, name, 1)
        check_range(self, "doc_context", 0)
        for name in ("dropout", "embedding_dropout", "recurrent_dropout",
                     "unk_rate"):
            check_range(self, name, 0.0, 1.0, inclusive_high=False)
