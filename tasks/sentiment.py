"""Sentiment: many-to-one text classification, binary or multi-class.

Data: CSV / TSV / JSONL with `--text-column` / `--label-column` (gzip
transparently), one folder per class (the aclImdb layout), or TFDS
(`tfds:imdb_reviews`, `tfds:glue/sst2`). IMDB's `<br />` markup is removed
by the standard text pipeline. Without `--data`, trains on the bundled
synthetic sample. The model is the library's recurrent text classifier
(embedding -> bidirectional GRU -> max+mean pooling -> softmax), over words
by default; `--representation word_char` adds a character CNN branch (as
the spam task uses) for misspelt or unseen words.
"""

import dataclasses

from kerasnlp_seq.config import choice, option
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.text_task import (CharTextClassifierConfig,
                                    TextClassificationTask)


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


@register_task
class SentimentTask(TextClassificationTask):
    """Text -> label, with label names kept for output."""

    name = "sentiment"
    summary = "text -> label (binary or multi-class), many-to-one"
    Config = SentimentConfig
    # Larger batches amortise the per-step overhead of the recurrent loop on
    # a CPU; early stopping keeps the best of the epochs.
    train_defaults = {"batch_size": 64, "epochs": 8}

    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path("sentiment.tsv")
