"""The options of a recurrent encoder-decoder, as one flat frozen dataclass.

`Seq2SeqConfig` holds what a text-to-text task reads and builds: the data
(`parallel_data`: pair-file columns, language codes, TFDS features), the
tokenizers (`seq_tokenizers`: words or BPE units, one vocabulary or two),
the model (`seq2seq.build_seq2seq`: the encoder from the shared builder,
the attentive `decoder.RecurrentDecoder`), its loss and the decoding
(`seq2seq.Seq2SeqDecoder`: beam or greedy, length penalty, minimum
length). A task subclasses it to change defaults (`tasks/translation.py`).
Every check runs in `__post_init__`, so a bad value fails before any data
is read.

Example:

>>> Seq2SeqConfig().vocab_size, Seq2SeqConfig(shared_vocab=False).vocab_size
(6000, 4000)
>>> Seq2SeqConfig(share_embeddings=True, shared_vocab=False)
Traceback (most recent call last):
...
kerasnlp_seq.errors.ConfigError: `share_embeddings` needs `shared_vocab` (one vocabulary for both sides).
"""

import dataclasses
import typing

from kerasnlp_seq.config import (ConfigError, check_attention_from,
                                 check_range, choice, option,
                                 validate_choices)

# Default vocabulary sizes, measured on Multi30k (benchmarks/RESULTS.md).
SHARED_VOCAB_SIZE = 6000  # one vocabulary for both languages
VOCAB_SIZE = 4000  # per language, without --shared-vocab


@dataclasses.dataclass(frozen=True)
class Seq2SeqConfig:
    """Options of an encoder-decoder (data, tokens, model, decoding)."""

    source: typing.Optional[str] = option(
        None, "Source side: language code (PREFIX.xx files), column index "
        "(pair files; default 0) or TFDS feature.")
    target: typing.Optional[str] = option(
        None, "Target side, as --source (pair files: default column 1).")
    tfds_data_dir: typing.Optional[str] = option(
        None, "TFDS data directory (prepared data loads offline).")
    tokenizer: str = choice("subword", ["word", "subword"],
                            "Whole words, or WordPiece units learned by BPE.")
    vocab_size: typing.Optional[int] = option(
        None, "Vocabulary size: of the shared vocabulary with "
        "--shared-vocab, else per language. Default: 6000 shared, 4000 per "
        "language (the best measured on Multi30k in 55 minutes; "
        "benchmarks/RESULTS.md).")
    shared_vocab: bool = option(
        True, "One vocabulary learned from both languages (joint BPE, as "
        "in Sennrich et al. 2016 and OpenNMT's share_vocab), used by source "
        "and target. On Multi30k it beat 4000 units per language by 0.25 "
        "beam and 0.5 greedy BLEU.")
    lowercase: bool = option(False, "Lower-case both sides.")
    max_length: int = option(
        50, "Tokens kept per sentence (longer ones are truncated) and the "
        "longest translation generated; each sentence also stops at twice "
        "its own source length (end token included) plus 10.")
    embedding_dim: int = option(256, "Embedding width (both sides).")
    cell: str = choice("gru", ["simple_rnn", "lstm", "gru"],
                       "Recurrent cell (encoder and decoder).")
    encoder_units: int = option(256, "Encoder units per direction.")
    encoder_layers: int = option(1, "Stacked encoder layers.")
    bidirectional: bool = option(True, "Bidirectional encoder.")
    units: int = option(
        256, "Decoder units (a tanh bridge maps the encoder's states when "
        "their width differs).")
    decoder_layers: int = option(1, "Stacked decoder layers.")
    attention: str = choice("luong", ["none", "luong", "bahdanau"],
                            "Attention over the encoder outputs.")
    attention_from: str = choice(
        "top", ["top", "bottom"],
        "Decoder layer whose outputs query the attention: top (Luong), or "
        "bottom, with the context fed to every layer above (GNMT; needs "
        "--decoder-layers 2 or more). Bottom trailed top by 0.5 BLEU on "
        "Multi30k in equal time (benchmarks/RESULTS.md).")
    dropout: float = option(
        0.2, "Dropout on embeddings, between layers and before the output "
        "layer. 0.2 beat 0.3 and 0.4 on Multi30k in 55 minutes "
        "(benchmarks/RESULTS.md).")
    word_dropout: float = option(
        0.0, "Rate at which whole source and target tokens are dropped "
        "from the embeddings in training.")
    tie_embeddings: bool = option(
        False, "Use the target embeddings as the output layer's weights "
        "(needs embedding-dim == units).")
    share_embeddings: bool = option(
        False, "One embedding matrix for source and target tokens (needs "
        "--shared-vocab).")
    label_smoothing: float = option(0.1, "Label smoothing of the loss.")
    decoding: str = choice("beam", ["beam", "greedy"],
                           "Decoding for evaluate, predict and export.")
    beam_width: int = option(5, "Beam width.")
    length_penalty: float = option(
        1.5, "GNMT length penalty alpha (beam; 0: none). 1.5 scored best on "
        "Multi30k val (benchmarks/RESULTS.md).")
    min_length: int = option(
        1, "Fewest target tokens before a translation may end (0: an empty "
        "translation is possible).")
    bucket: bool = option(True, "Batch sentences of similar length.")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "vocab_size", 5)
        if self.vocab_size is None:
            object.__setattr__(
                self, "vocab_size",
                SHARED_VOCAB_SIZE if self.shared_vocab else VOCAB_SIZE)
        check_range(self, "max_length", 2)
        for name in ("embedding_dim", "encoder_units", "encoder_layers",
                     "units", "decoder_layers", "beam_width"):
            check_range(self, name, 1)
        check_range(self, "dropout", 0.0, 1.0, inclusive_high=False)
        check_range(self, "word_dropout", 0.0, 1.0, inclusive_high=False)
        check_range(self, "label_smoothing", 0.0, 1.0, inclusive_high=False)
        check_range(self, "length_penalty", 0.0)
        check_range(self, "min_length", 0)
        if self.tie_embeddings and self.embedding_dim != self.units:
            raise ConfigError(
                "`tie_embeddings` needs `embedding_dim == units` (the output "
                "layer reads the decoder's units). Received: embedding_dim="
                f"{self.embedding_dim}, units={self.units}")
        check_attention_from(self, "decoder_layers")
        if self.share_embeddings and not self.shared_vocab:
            raise ConfigError(
                "`share_embeddings` needs `shared_vocab` (one vocabulary "
                "for both sides).")
