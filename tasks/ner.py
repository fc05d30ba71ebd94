"""NER (and any token tagging): tokens -> tags, many-to-many, with a CRF head.

Data: CoNLL column files (`-DOCSTART-`, blank-line sentence breaks; pick
the columns with `--token-column` / `--tag-column`, by index or by name from
`--columns`, so `--tag-column pos` tags parts of speech), JSON lines
`{"tokens": [...], "tags": [...]}`, or TFDS (`tfds:conll2003`). Tag schemes
IOB1, IOB2 and BIOES are detected (or declared with `--scheme`), converted to
`--train-scheme` for training, and predictions are converted back and
scored against the gold tags as conlleval does. Tags that are no entity
scheme (POS) are scored by token accuracy (`--scheme none`, or detected).

Model: word embeddings (random, or `--embeddings` GloVe / word2vec) +
character features (CNN or BiLSTM) + casing classes -> BiLSTM/BiGRU from
the shared builder -> CRF (`--head crf`, default) or softmax. `predict`
tokenizes raw sentences (TF ops, the same in the SavedModel) and returns
tokens, tags and entity spans with character offsets.
"""

import dataclasses
import logging
import os

from kerasnlp_seq.registry import register_task
from kerasnlp_seq.tagger_config import TaggerConfig
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")
_HINT = "pass --scheme none to learn the tags as plain labels"


@dataclasses.dataclass(frozen=True)
class NERConfig(TaggerConfig):
    """Options of the NER tagger: the sequence tagger's, whose defaults
    (CoNLL-2003's columns, BIOES training, a CRF head) are NER's."""


@register_task
class NERTask(Task):
    """Token tagging (NER, POS, chunks) with a recurrent CRF tagger."""

    name = "ner"
    summary = "tokens -> tags (NER, POS, chunking), many-to-many, CRF"
    Config = NERConfig
    monitor = ("val_tags_f1", "max")
    # The benchmarked CoNLL-2003 recipe (benchmarks/RESULTS.md: 90.9 F1 on
    # eng.testa, early stopping at epoch 22): up to 28 epochs, patience 6,
    # gradient clipping at norm 5 as in Lample et al. 2016, which steadies
    # the CRF's per-sentence loss early in training. The bundled sample
    # stops early (about 13 epochs, ~1 min).
    train_defaults = {"clipnorm": 5.0, "epochs": 28, "patience": 6}
    # How to read the data given to evaluate (`--set columns=token,ner`).
    inference_options = ("format", "token_column", "tag_column", "columns",
                         "scheme", "tfds_data_dir")
    input_help = "one raw sentence per line"

    def __init__(self, config=None):
        super().__init__(config)
        self.encoder = None
        self.tags = None            # tag names by id, in the train scheme
        self.scheme = None          # the data's scheme ("none": no entities)
        self.train_scheme = None
        self.coverage = None
        self._matrix = None
        self._schemes = {}  # source -> scheme of the whole training file

    # ------------------------------------------------------------- data
    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path("ner.conll")

    def read(self, spec, role):
        from kerasnlp_seq.tag_set import remember_scheme
        from kerasnlp_seq.tagged_data import read_tagged, resolve_scheme

        c = self.config
        sentences = read_tagged(
            spec, role, format=c.format, token_column=c.token_column,
            tag_column=c.tag_column,
            columns=[n.strip() for n in c.columns.split(",")],
            tfds_data_dir=c.tfds_data_dir, documents=c.doc_context > 0)
        if role == "train" and sentences:
            # The scheme of the whole file, before a part is held back for
            # validation: every line of it is checked.
            remember_scheme(self._schemes, sentences, resolve_scheme(
                sentences, c.scheme, hint=_HINT))
        return sentences

    def split_validation(self, examples, fraction, seed):
        """With `doc_context`, hold back whole documents (order kept), so
        that windows stay runs of consecutive sentences."""
        from kerasnlp_seq import doc_context

        if self.config.doc_context:
            split = doc_context.split_documents(examples, fraction, seed)
            if split is not None:
                return split
        return super().split_validation(examples, fraction, seed)

    def gold_scheme(self, examples):
        """The entity scheme of gold `examples`: the training data's for
        sentences from it, else detected (or checked against `--scheme`)
        as `evaluate` does, so each file may use its own scheme."""
        from kerasnlp_seq.tag_set import gold_scheme

        return gold_scheme(examples, self.config.scheme, self._schemes,
                           expected=self.scheme)

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        from kerasnlp_seq.tag_set import learn_tags
        from kerasnlp_seq.token_encoder import TokenEncoder

        c = self.config
        if c.doc_context and all(ex.get("_doc") is None for ex in examples):
            log.warning("doc_context=%d has no effect: the training data marks "
                        "no documents (-DOCSTART- lines, or a doc key in JSON "
                        "lines), so each sentence is tagged alone.",
                        c.doc_context)
        self.scheme, self.train_scheme, self.tags = learn_tags(
            examples, c.scheme, c.train_scheme, self._schemes, hint=_HINT)
        self.encoder = TokenEncoder.adapt(
            (ex["tokens"] for ex in examples), max_words=c.vocab_size,
            max_chars=c.char_vocab_size, use_chars=c.char_encoder != "none",
            lowercase=c.lowercase, normalize_digits=c.normalize_digits,
            max_word_chars=c.max_word_chars)
        if c.embeddings:
            from kerasnlp_seq.embeddings import embedding_matrix

            self._matrix, self.coverage = embedding_matrix(
                self.encoder.words.tokens, c.embeddings)
        self._set_monitor()

    def _set_monitor(self):
        self.monitor = (("val_tags_accuracy", "max") if self.scheme == "none"
                        else ("val_tags_f1", "max"))

    def save_assets(self, directory):
        from kerasnlp_seq.config import save_json

        self.encoder.save(directory)
        save_json({"scheme": self.scheme, "train_scheme": self.train_scheme,
                   "tags": self.tags, "embeddings": self.coverage},
                  os.path.join(directory, "tags.json"))

    def load_assets(self, directory):
        from kerasnlp_seq.config import load_json
        from kerasnlp_seq.token_encoder import TokenEncoder

        self.encoder = TokenEncoder.load(directory)
        assets = load_json(os.path.join(directory, "tags.json"))
        self.scheme, self.train_scheme = assets["scheme"], assets[
            "train_scheme"]
        self.tags, self.coverage = assets["tags"], assets.get("embeddings")
        self._set_monitor()

    # ------------------------------------------------------------ model
    def build_model(self):
        from kerasnlp_seq.tagger import build_sequence_tagger
        from kerasnlp_seq.tagging import allowed_transitions

        c = self.config
        word_dim = (self.coverage["dim"] if self.coverage
                    else c.embedding_dim)
        chars = self.encoder.chars
        model = build_sequence_tagger(
            self.encoder.words.size, len(self.tags), word_dim=word_dim,
            num_chars=chars.size if chars is not None else 0,
            char_encoder=c.char_encoder, char_dim=c.char_embedding_dim,
            char_units=c.char_units, char_kernel_size=c.char_kernel_size,
            casing=c.casing, cell=c.cell, units=c.units,
            num_layers=c.num_layers, bidirectional=c.bidirectional,
            dropout=c.dropout, embedding_dropout=c.embedding_dropout,
            recurrent_dropout=c.recurrent_dropout, head=c.head,
            # None for IOB1 and "none", which allow every transition.
            crf_constraints=(allowed_transitions(self.tags, self.train_scheme)
                             if c.crf_constraints else None),
            name=self.name)
        log.info("tags: %d in scheme %s (data: %s)", len(self.tags),
                 self.train_scheme, self.scheme)
        if c.embeddings:
            from kerasnlp_seq.embeddings import set_embedding_weights

            set_embedding_weights(
                model.get_layer("word_embedding"), self.encoder.words.tokens,
                c.embeddings, self._matrix, self.coverage)
        return model

    def compile_args(self):
        from kerasnlp_seq.tagger import tagger_compile_args

        scheme = None if self.scheme == "none" else self.train_scheme
        return tagger_compile_args(self.config.head, self.tags, scheme)

    def _features(self):
        from kerasnlp_seq.sentence_tagging import token_features

        return token_features(self.encoder, casing=self.config.casing)

    def tag_ids(self, examples):
        """Training-scheme tag ids per sentence (unseen tags -> 0).

        Sentences from another file than the training data (`--valid`)
        have their own scheme, detected per file and converted.
        """
        from kerasnlp_seq.tag_set import tag_ids

        return tag_ids(examples, self.tags, self.train_scheme,
                       "none" if self.scheme == "none" else self.gold_scheme)

    def windows(self, examples):
        """Sentence indices tagged together (`doc_context`), or None."""
        from kerasnlp_seq.sentence_tagging import sentence_windows

        return sentence_windows(examples, self.config.doc_context)

    def dataset(self, examples, batch_size, training, seed=None,
                batch_tokens=None, with_targets=True):
        """Batches of sentences, or of `doc_context` windows of sentences."""
        from kerasnlp_seq.sentence_tagging import (sentence_dataset,
                                                   singleton_dropout)

        c = self.config
        # Tags convert scheme per sentence, before sentences are joined.
        return sentence_dataset(
            examples, self._features(), batch_size, training,
            tag_ids=self.tag_ids(examples) if with_targets else None,
            head=c.head, max_tokens=c.doc_context, seed=seed,
            augment=singleton_dropout(self.encoder, c.unk_rate),
            bucket=c.bucket, batch_tokens=batch_tokens)

    # ---------------------------------------------------------- results
    def predict_tags(self, model, token_lists, batch_size=64, docs=None):
        """Tag names (training scheme) for lists of tokens, in order.

        `docs` (one document key per sentence, None for none) lets
        consecutive sentences of one document share context, as in
        training with `doc_context`.
        """
        from kerasnlp_seq.sentence_tagging import predict_tags

        return predict_tags(
            model, token_lists, self._features(), self.tags, batch_size,
            docs=docs, max_tokens=self.config.doc_context,
            cache=self.__dict__.setdefault("_functions", {}))

    def evaluate(self, model, examples, run_dir=None):
        """Entity P/R/F1 (conlleval) in the gold data's own scheme, or token
        accuracy for tags without entities."""
        from kerasnlp_seq.doc_context import documents
        from kerasnlp_seq.tag_set import score_tags

        predicted = self.predict_tags(
            model, [ex["tokens"] for ex in examples],
            docs=documents(examples))
        # The gold data may be in another scheme than the training data.
        scheme = "none" if self.scheme == "none" else self.gold_scheme(
            examples)
        return score_tags([ex["tags"] for ex in examples], predicted, scheme,
                          self.train_scheme)

    def predict(self, model, inputs):
        from kerasnlp_seq.sentence_tagging import tag_texts

        return tag_texts(model, inputs, self._features(), self.tags,
                         self.train_scheme,
                         cache=self.__dict__.setdefault("_functions", {}))

    def format_prediction(self, raw, answer):
        from kerasnlp_seq.sentence_tagging import format_tagged

        return format_tagged(answer)

    def export(self, model, path):
        from kerasnlp_seq.tagger import export_tagger
        from kerasnlp_seq.tokenize import tokenize

        export_tagger(model, tokenize, self._features(),
                      self.encoder.lookup_tables, self.tags, path)
