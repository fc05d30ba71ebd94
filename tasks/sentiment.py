"""Sentiment: many-to-one text classification, binary or multi-class.

Data: CSV / TSV / JSONL with `--text-column` / `--label-column` (gzip
transparently), one folder per class (the aclImdb layout), or TFDS
(`tfds:imdb_reviews`, `tfds:glue/sst2`). IMDB's `<br />` markup is removed
by the standard text pipeline. Without `--data`, trains on the bundled
synthetic sample. The model is the library's recurrent text classifier
(embedding -> bidirectional GRU -> max+mean pooling -> softmax), over words
by default; `--representation word_char` adds a character CNN branch (as
the spam task uses) for misspelt or unseen words. Given a million training
tokens or more, the word embedding starts from word2vec vectors trained on
the training texts and stays frozen (`--word2vec auto`).
"""

import dataclasses

from kerasnlp_seq.config import choice, option
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.text_config import CharTextClassifierConfig
from kerasnlp_seq.text_task import TextClassificationTask


@dataclasses.dataclass(frozen=True)
class SentimentConfig(CharTextClassifierConfig):
    """Sentiment options: the text classifier's, over words by default."""

    representation: str = choice(
        "word", ["word", "char", "word_char"],
        "Model input: words, characters, or both.")
    vocab_size: int = option(
        5000, "Vocabulary size (pad and OOV included). 5000 beat 10000 and "
        "20000 on IMDB reviews of movies held out from training: a large "
        "vocabulary learns the names in the training movies "
        "(benchmarks/RESULTS.md).")
    word2vec: str = choice(
        "auto", ["off", "on", "auto"],
        "Start the word embedding from skip-gram word2vec vectors trained on "
        "the training texts (gensim; texts only, never labels); auto: when "
        "they hold --word2vec-min-tokens tokens or more and no --embeddings "
        "file is given. On IMDB, frozen, they lifted accuracy on reviews of "
        "held-out movies from 0.882 to 0.906 (benchmarks/RESULTS.md).")
    freeze_embeddings: bool = option(
        True, "Keep the --embeddings / --word2vec vectors fixed in training "
        "(else fine-tune them; a random start always trains).")
    vectors_vocab: int = option(
        50000, "With --embeddings: add up to N more words that have vectors "
        "but are not in the vocabulary (the file's most frequent first), so "
        "words first seen at prediction keep their vectors; with --word2vec, "
        "rarer training words beyond --vocab-size. Best frozen.")


@register_task
class SentimentTask(TextClassificationTask):
    """Text -> label, with label names kept for output."""

    name = "sentiment"
    summary = "text -> label (binary or multi-class), many-to-one"
    Config = SentimentConfig
    # Larger batches amortise the per-step overhead of the recurrent loop on
    # a CPU; early stopping keeps the best of the epochs.
    # Frozen vectors learn more slowly: IMDB's best epoch was 11 of 16.
    train_defaults = {"batch_size": 64, "epochs": 16}

    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path("sentiment.tsv")
