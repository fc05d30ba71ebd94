"""Translation: source text -> target text, a recurrent encoder-decoder.

Data: Anki / Tatoeba pair files (`source<TAB>target[<TAB>attribution]`;
`--source` / `--target` are column indices), line-aligned files by prefix
and language codes (`--data multi30k/train --source en --target de`), or
TFDS (`tfds:ted_hrlr_translate/pt_to_en`); see `kerasnlp_seq.parallel_data`.
Both sides are tokenized reversibly, by words or by WordPiece units learned
with BPE (`--tokenizer`), with start and end tokens; over-long sentences
are truncated to `--max-length` tokens with a logged count.

Model: `kerasnlp_seq.seq2seq.build_seq2seq`, source embedding -> (Bi)GRU/LSTM
encoder from the shared builder (sequences and final states) -> the states
initialise a `kerasnlp_seq.decoder.RecurrentDecoder` (a tanh bridge when
widths differ) that attends over the encoder outputs (`--attention luong |
bahdanau | none`) and is trained by teacher forcing with label smoothing.
`evaluate`, `predict` and the SavedModel decode with beam search (or greedy)
inside the TF graph (`kerasnlp_seq.seq2seq.Seq2SeqDecoder`) and score
detokenized text with sacreBLEU (`bleu`, `chrf`, `bleu_tok_lc`).
"""

import dataclasses
import logging
import os
import typing

from kerasnlp_seq.config import (ConfigError, check_attention_from,
                                 check_range, choice, option,
                                 validate_choices)
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")
ASSETS = "translation.json"
# Default vocabulary sizes, measured on Multi30k (benchmarks/RESULTS.md).
SHARED_VOCAB_SIZE = 6000  # one vocabulary for both languages
VOCAB_SIZE = 4000  # per language, without --shared-vocab


@dataclasses.dataclass(frozen=True)
class TranslationConfig:
    """Options of the encoder-decoder (data, tokens, model, decoding)."""

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


@register_task
class TranslationTask(Task):
    """Source sentence -> target sentence, with attention and beam search."""

    name = "translation"
    summary = "text -> text (translation), encoder-decoder, attention, beam"
    Config = TranslationConfig
    monitor = ("val_loss", "min")
    # Cosine decay: the lowest Multi30k validation loss of the recipes
    # measured (benchmarks/RESULTS.md, translation section).
    train_defaults = {"batch_size": 64, "epochs": 10, "patience": 3,
                      "clipnorm": 5.0, "lr_schedule": "cosine"}
    input_help = "one source sentence per line"
    # Decoding settings, and how to read the data given to evaluate.
    inference_options = ("decoding", "beam_width", "length_penalty",
                         "min_length", "source", "target", "tfds_data_dir")

    def __init__(self, config=None):
        super().__init__(config)
        self.source_tokenizer = None
        self.target_tokenizer = None
        self._decoder = None  # (model, its Seq2SeqDecoder)
        self.truncated = {"source": 0, "target": 0}

    # ------------------------------------------------------------- data
    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path("translation.tsv")

    def read(self, spec, role):
        from kerasnlp_seq.parallel_data import read_parallel

        c = self.config
        return read_parallel(spec, role, source=c.source, target=c.target,
                             tfds_data_dir=c.tfds_data_dir)

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        from kerasnlp_seq.seq_tokenizers import make_tokenizer

        c = self.config
        if c.shared_vocab:
            texts = ([ex["source"] for ex in examples]
                     + [ex["target"] for ex in examples])
            shared = make_tokenizer(c.tokenizer, texts, c.vocab_size,
                                    lowercase=c.lowercase)
            self.source_tokenizer = self.target_tokenizer = shared
        else:
            self.source_tokenizer, self.target_tokenizer = (
                make_tokenizer(c.tokenizer, [ex[side] for ex in examples],
                               c.vocab_size, lowercase=c.lowercase)
                for side in ("source", "target"))
        log.info("vocabularies: source %d, target %d (%s%s)",
                 self.source_tokenizer.size, self.target_tokenizer.size,
                 c.tokenizer, ", shared" if c.shared_vocab else "")

    def save_assets(self, directory):
        from kerasnlp_seq.config import save_json

        save_json({"source": self.source_tokenizer.save(directory, "source"),
                   "target": self.target_tokenizer.save(directory, "target")},
                  os.path.join(directory, ASSETS))

    def load_assets(self, directory):
        from kerasnlp_seq.config import load_json
        from kerasnlp_seq.errors import RunError
        from kerasnlp_seq.seq_tokenizers import file_digest, load_tokenizer

        assets = load_json(os.path.join(directory, ASSETS))
        tokenizers = []
        for side in ("source", "target"):
            meta = assets[side]
            tokenizer = load_tokenizer(directory, meta)
            if tokenizer.size != meta["size"]:
                raise RunError(
                    f"{os.path.join(directory, meta['file'])}: the {side} "
                    f"vocabulary has {tokenizer.size} ids, the run was "
                    f"trained with {meta['size']}; restore the run's file.")
            path = os.path.join(directory, meta["file"])
            if meta.get("sha256") not in (None, file_digest(path)):
                raise RunError(
                    f"{path}: the {side} vocabulary differs from the one the "
                    "run was trained with (its SHA-256 changed); restore the "
                    "run's file.")
            tokenizers.append(tokenizer)
        self.source_tokenizer, self.target_tokenizer = tokenizers

    # ------------------------------------------------------------ model
    def _model_args(self):
        c = self.config
        return dict(embedding_dim=c.embedding_dim, cell=c.cell, units=c.units,
                    decoder_layers=c.decoder_layers, attention=c.attention,
                    dropout=c.dropout, tie_embeddings=c.tie_embeddings,
                    attention_from=c.attention_from)

    def build_model(self):
        from kerasnlp_seq.seq2seq import build_seq2seq

        c = self.config
        return build_seq2seq(
            self.source_tokenizer.size, self.target_tokenizer.size,
            encoder_units=c.encoder_units, encoder_layers=c.encoder_layers,
            bidirectional=c.bidirectional, word_dropout=c.word_dropout,
            share_embeddings=c.share_embeddings, name=self.name,
            **self._model_args())

    def load_model(self, path):
        from kerasnlp_seq.errors import RunError
        from kerasnlp_seq.seq2seq import SOURCE_EMBEDDING, TARGET_EMBEDDING

        model = super().load_model(path)
        source_layer = (TARGET_EMBEDDING if self.config.share_embeddings
                        else SOURCE_EMBEDDING)
        for layer, tokenizer, side in (
                (source_layer, self.source_tokenizer, "source"),
                (TARGET_EMBEDDING, self.target_tokenizer, "target")):
            size = model.get_layer(layer).input_dim
            if size != tokenizer.size:
                raise RunError(
                    f"{path}: the model's {side} vocabulary has {size} ids "
                    f"but the run's {side} vocabulary file has "
                    f"{tokenizer.size}; the vocabulary does not match the "
                    "run.")
        return model

    def compile_args(self):
        import keras

        from kerasnlp_seq.losses import SmoothedSparseCrossentropy

        return dict(
            loss=SmoothedSparseCrossentropy(self.config.label_smoothing),
            metrics=[keras.metrics.SparseCategoricalAccuracy(
                name="token_accuracy")])

    # ------------------------------------------------------------- ids
    def source_ids(self, texts):
        """Strings `(batch,)` -> padded source ids with the end token (TF)."""
        import tensorflow as tf

        from kerasnlp_seq.seq_tokenizers import END_ID

        ids = self.source_tokenizer.encode(texts)[:, :self.config.max_length
                                                  - 1]
        end = tf.fill([ids.nrows(), 1], tf.constant(END_ID, tf.int32))
        return tf.concat([ids, end], axis=1).to_tensor(0)

    def encode_pairs(self, examples):
        """Token id lists `(source + end, target)`; logs truncations."""
        from kerasnlp_seq.parallel_data import encode_pairs

        sources, targets, self.truncated = encode_pairs(
            examples, self.source_tokenizer, self.target_tokenizer,
            self.config.max_length)
        return sources, targets

    def dataset(self, examples, batch_size, training, seed=None,
                batch_tokens=None):
        from kerasnlp_seq.parallel_data import pair_dataset

        sources, targets = self.encode_pairs(examples)
        return pair_dataset(sources, targets, batch_size,
                            self.config.max_length, training, seed=seed,
                            bucket=self.config.bucket,
                            batch_tokens=batch_tokens)

    # ---------------------------------------------------------- results
    def translate_fn(self, model, method=None):
        """A `tf.function`: padded source ids -> `(ids, attention)`
        (`kerasnlp_seq.seq2seq.Seq2SeqDecoder`, made once per model)."""
        from kerasnlp_seq.seq2seq import Seq2SeqDecoder
        from kerasnlp_seq.seq_tokenizers import END_ID, START_ID

        c = self.config
        if self._decoder is None or self._decoder[0] is not model:
            self._decoder = (model, Seq2SeqDecoder(
                model, self.target_tokenizer.size, start_id=START_ID,
                end_id=END_ID, max_length=c.max_length,
                beam_width=c.beam_width, length_penalty=c.length_penalty,
                min_length=c.min_length,
                **self._model_args()))
        return self._decoder[1].function(method or c.decoding)

    def translate(self, model, texts, method=None, batch_size=64):
        """Translations (str) of source `texts`, in order."""
        import tensorflow as tf

        texts = [str(t) for t in texts]
        fn = self.translate_fn(model, method)
        # Similar lengths together: less padding, shorter beams.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            ids, _ = fn(self.source_ids(tf.constant([texts[i] for i in rows])))
            decoded = self.target_tokenizer.decode(ids).numpy().tolist()
            for i, text in zip(rows, decoded):
                out[i] = text.decode("utf-8")
        return out

    def evaluate(self, model, examples, run_dir=None):
        """sacreBLEU `bleu`, `chrf`, `bleu_tok_lc` of the configured decoding
        on detokenized text, plus teacher-forced loss and token accuracy."""
        from kerasnlp_seq.translation_metrics import translation_scores

        hypotheses = self.translate(model, [ex["source"] for ex in examples])
        scores = translation_scores(hypotheses,
                                    [ex["target"] for ex in examples])
        if not getattr(model, "compiled", False):
            model.compile(**self.compile_args())
        losses = model.evaluate(self.dataset(examples, 64, training=False),
                                verbose=0, return_dict=True)
        scores.update(loss=float(losses["loss"]),
                      token_accuracy=float(losses["token_accuracy"]),
                      sentences=len(examples), decoding=self.config.decoding,
                      min_length=self.config.min_length)
        if self.config.decoding == "beam":  # which settings gave the scores
            scores.update(beam_width=self.config.beam_width,
                          length_penalty=self.config.length_penalty)
        if run_dir:
            self._write_samples(run_dir, examples, hypotheses)
        return scores

    def _write_samples(self, run_dir, examples, hypotheses, n=20):
        import json

        path = os.path.join(run_dir, "translations.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for ex, hyp in list(zip(examples, hypotheses))[:n]:
                f.write(json.dumps({"source": ex["source"],
                                    "reference": ex["target"],
                                    "translation": hyp},
                                   ensure_ascii=False) + "\n")

    def predict(self, model, inputs):
        return [{"translation": t} for t in self.translate(model, inputs)]

    def format_prediction(self, raw, answer):
        return answer["translation"]

    def plot_attention(self, model, raw, path):
        """Greedy-decode `raw` and draw its attention (target x source)."""
        import tensorflow as tf

        from kerasnlp_seq.attention_plots import plot_attention
        from kerasnlp_seq.errors import RunError
        from kerasnlp_seq.seq_tokenizers import END_ID, JOINER

        if self.config.attention == "none":
            raise RunError("this run's model has no attention (--attention "
                           "none); there is nothing to plot.")
        source = self.source_ids(tf.constant([str(raw)]))
        ids, weights = self.translate_fn(model, "greedy")(source)

        def labels(tokenizer, row):
            # One label per id with a row (target) or column (source): up
            # to the end token when one was generated, else all of them
            # (decoding was cut off at the length cap).
            row = [int(i) for i in row]
            if END_ID in row:
                row = row[:row.index(END_ID) + 1]
            tokens = tokenizer.tokens
            # The joiner mark has no glyph in matplotlib's default font.
            return [tokens[i].replace(JOINER, "") if i < len(tokens)
                    else "?" for i in row]

        src, tgt = (labels(tokenizer, x.numpy()[0])
                    for tokenizer, x in ((self.source_tokenizer, source),
                                         (self.target_tokenizer, ids)))
        text = self.target_tokenizer.decode(ids).numpy()[0].decode("utf-8")
        return plot_attention(weights.numpy()[0], src, tgt, path,
                              title=f"{raw}\n-> {text}")

    def export(self, model, path):
        """SavedModel: `serving_default(text: string[batch])` ->
        `{"translation": string[batch], "length": int32[batch]}`, decoding
        as configured (beam search by default) inside the graph; a blank
        text gives `""` and length 0, as `predict` gives it nothing."""
        import keras
        import tensorflow as tf

        from kerasnlp_seq.seq_tokenizers import END_ID
        from kerasnlp_seq.serving import empty_batch_safe, is_blank

        translate = self.translate_fn(model)
        archive = keras.export.ExportArchive()
        archive.track(model)
        for resource in (self.source_tokenizer.resources
                         + self.target_tokenizer.resources):
            archive.track(resource)

        def serve(text):
            ids, _ = translate(self.source_ids(text))
            ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), 1)
            length = tf.reduce_sum(tf.cast(tf.logical_and(
                ids > 0, ended == 0), tf.int32), axis=1)
            blank = is_blank(text)  # nothing to translate: "", as predict
            return {"translation": tf.where(
                        blank, "", self.target_tokenizer.decode(ids)),
                    "length": tf.where(blank, 0, length)}

        archive.add_endpoint(
            "serving_default", empty_batch_safe(serve),
            input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        archive.write_out(path, verbose=False)
