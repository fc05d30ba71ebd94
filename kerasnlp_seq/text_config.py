"""The options of a recurrent text classifier, as flat frozen dataclasses.

- `TextClassifierConfig`: data (columns, format, TFDS, streaming), text
  (vocabulary, length, case), word vectors (`--embeddings` file or
  `--word2vec`) and the recurrent model.
- `CharTextClassifierConfig`: the same plus a character-level input
  (`representation`: words, characters or both) and its encoder.

A task subclasses one of them to change defaults (`tasks/sentiment.py`,
`tasks/spam.py`); `kerasnlp_seq.text_task.TextClassificationTask` reads
them. Every check runs in `__post_init__`, so a bad combination fails
before any data is read.

Example:

>>> config = CharTextClassifierConfig(representation="word", units=8)
>>> config.units, config.cell
(8, 'gru')
>>> CharTextClassifierConfig(  # doctest: +ELLIPSIS
...     representation="char", word2vec="on")
Traceback (most recent call last):
...
kerasnlp_seq.errors.ConfigError: --embeddings and --word2vec need word input...
"""

import dataclasses
import typing

from kerasnlp_seq.config import check_range, choice, option, validate_choices
from kerasnlp_seq.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class TextClassifierConfig:
    """Options of a recurrent text classifier (data, text, model)."""

    text_column: str = option(
        "text", "Text column (name, or 0-based index without header).")
    label_column: str = option("label", "Label column (name or index).")
    format: typing.Optional[str] = choice(
        None, [None, "csv", "tsv", "jsonl"],
        "File format (default: from the file name).")
    header: bool = option(True, "Whether CSV/TSV files have a header row.")
    tfds_data_dir: typing.Optional[str] = option(
        None, "TFDS data directory (prepared data loads offline).")
    vocab_size: int = option(20000, "Vocabulary size (pad and OOV included).")
    max_length: int = option(400, "Tokens kept per text.")
    truncating: str = choice(
        "pre", ["pre", "post"],
        "Drop extra tokens from the start (pre) or the end (post).")
    lowercase: bool = option(True, "Lower-case texts.")
    embeddings: typing.Optional[str] = option(
        None, "Pretrained word vectors to start the word embedding from "
        "(GloVe / word2vec text, gzip ok).")
    word2vec: str = choice(
        "off", ["off", "on", "auto"],
        "Start the word embedding from skip-gram word2vec vectors trained on "
        "the training texts (gensim; texts only, never labels); auto: when "
        "they hold --word2vec-min-tokens tokens or more and no --embeddings "
        "file is given.")
    word2vec_min_tokens: int = option(
        1_000_000, "--word2vec auto: fewer training tokens keep a randomly "
        "started embedding.")
    word2vec_epochs: int = option(5, "--word2vec: passes over the texts.")
    word2vec_min_count: int = option(
        2, "--word2vec: words seen fewer times get no vector.")
    freeze_embeddings: bool = option(
        False, "Keep the --embeddings / --word2vec vectors fixed in training "
        "(else fine-tune them).")
    vectors_vocab: int = option(
        0, "With --embeddings: add up to N more words that have vectors but "
        "are not in the vocabulary (the file's most frequent first), so "
        "words first seen at prediction keep their vectors; with --word2vec, "
        "rarer training words beyond --vocab-size. Best frozen.")
    embedding_dim: int = option(
        128, "Embedding width (the vectors' width with --embeddings).")
    cell: str = choice("gru", ["simple_rnn", "lstm", "gru"], "Recurrent cell.")
    units: int = option(64, "Units per recurrent layer and direction.")
    num_layers: int = option(1, "Stacked recurrent layers.")
    bidirectional: bool = option(True, "Bidirectional recurrent layers.")
    merge_mode: str = choice("concat", ["concat", "sum", "mul", "ave"],
                             "How directions merge.")
    pooling: str = choice("max_mean", ["last", "max", "mean", "max_mean"],
                          "How the sequence becomes one vector.")
    dropout: float = option(0.3, "Dropout between layers and before output.")
    embedding_dropout: float = option(0.2, "Spatial dropout on embeddings.")
    word_dropout: float = option(
        0.0, "In training, zero the embeddings of whole words at this rate.")
    recurrent_dropout: float = option(
        0.0, "Recurrent-state dropout (disables cuDNN).")
    residual: bool = option(False, "Residual connections between layers.")
    bucket: bool = option(True, "Batch texts of similar length together.")
    stream: str = choice(
        "auto", ["auto", "on", "off"],
        "Read table files from disk through tf.data instead of into memory "
        "(auto: files over 512 MB).")
    stream_sample: int = option(
        20000, "Streamed data: texts sampled (seeded) to adapt vocabularies.")
    stream_shuffle: int = option(
        10000, "Streamed data: shuffle buffer, in examples.")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "stream_sample", 1)
        check_range(self, "stream_shuffle", 1)
        check_range(self, "vocab_size", 3)
        check_range(self, "max_length", 1)
        check_range(self, "embedding_dim", 1)
        check_range(self, "vectors_vocab", 0)
        check_range(self, "word2vec_min_tokens", 0)
        check_range(self, "word2vec_epochs", 1)
        check_range(self, "word2vec_min_count", 1)
        if self.embeddings and self.word2vec == "on":
            raise ConfigError("--embeddings (a vectors file) and --word2vec "
                              "on (vectors trained here) exclude each other.")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        asked = [f"--{name.replace('_', '-')}"
                 for name in ("freeze_embeddings", "vectors_vocab")
                 if getattr(self, name) != defaults[name]
                 and getattr(self, name)]
        if asked and not self.embeddings and self.word2vec == "off":
            raise ConfigError(f"{' and '.join(asked)} need --embeddings (a "
                              "vectors file) or --word2vec.")
        check_range(self, "units", 1)
        check_range(self, "num_layers", 1)
        for name in ("dropout", "embedding_dropout", "word_dropout",
                     "recurrent_dropout"):
            check_range(self, name, 0.0, 1.0, inclusive_high=False)


@dataclasses.dataclass(frozen=True)
class CharTextClassifierConfig(TextClassifierConfig):
    """A text classifier's options plus a character-level input."""

    representation: str = choice(
        "word_char", ["word", "char", "word_char"],
        "Model input: words, characters, or both (robust to obfuscation).")
    max_chars: int = option(400, "Characters kept per text.")
    char_vocab_size: int = option(
        200, "Character vocabulary size (pad and unknown included).")
    char_lowercase: bool = option(
        False, "Lower-case the character input (capitals are a signal).")
    char_embedding_dim: int = option(32, "Character embedding width.")
    char_filters: int = option(64, "Character n-gram filters.")
    char_kernel_size: int = option(5, "Character n-gram width.")
    char_pool_size: int = option(
        3, "Max-pool characters by this factor before the recurrent layer.")

    def __post_init__(self):
        super().__post_init__()
        if (self.embeddings or self.word2vec == "on") and \
                self.representation == "char":
            raise ConfigError("--embeddings and --word2vec need word input; "
                              "--representation is 'char'.")
        check_range(self, "max_chars", 1)
        check_range(self, "char_vocab_size", 3)
        for name in ("char_embedding_dim", "char_filters", "char_kernel_size",
                     "char_pool_size"):
            check_range(self, name, 1)
