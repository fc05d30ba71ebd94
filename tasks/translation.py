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

from kerasnlp_seq.registry import register_task
from kerasnlp_seq.seq2seq_config import Seq2SeqConfig
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")
ASSETS = "translation.json"


@dataclasses.dataclass(frozen=True)
class TranslationConfig(Seq2SeqConfig):
    """Options of the translation model: the library's encoder-decoder
    options, whose defaults are the Multi30k recipe
    (benchmarks/RESULTS.md)."""


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

        from kerasnlp_seq.attention_plots import plot_translation_attention
        from kerasnlp_seq.errors import RunError

        if self.config.attention == "none":
            raise RunError("this run's model has no attention (--attention "
                           "none); there is nothing to plot.")
        source = self.source_ids(tf.constant([str(raw)]))
        ids, weights = self.translate_fn(model, "greedy")(source)
        return plot_translation_attention(
            source, ids, weights, self.source_tokenizer,
            self.target_tokenizer, str(raw), path)

    def export(self, model, path):
        """SavedModel: `serving_default(text: string[batch])` ->
        `{"translation": string[batch], "length": int32[batch]}`
        (`kerasnlp_seq.seq2seq.export_translator`)."""
        from kerasnlp_seq.seq2seq import export_translator

        export_translator(model, self.translate_fn(model), self.source_ids,
                          self.source_tokenizer, self.target_tokenizer, path)
