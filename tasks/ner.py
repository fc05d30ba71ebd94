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
import typing

from kerasnlp_seq.config import check_range, choice, option, validate_choices
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")


@dataclasses.dataclass(frozen=True)
class NERConfig:
    """Options of the sequence tagger (data, tags, features, model)."""

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
        from kerasnlp_seq.tagged_data import read_tagged

        c = self.config
        sentences = read_tagged(
            spec, role, format=c.format, token_column=c.token_column,
            tag_column=c.tag_column,
            columns=[n.strip() for n in c.columns.split(",")],
            tfds_data_dir=c.tfds_data_dir, documents=c.doc_context > 0)
        if role == "train" and sentences:
            # The scheme of the whole file, before a part is held back for
            # validation: every line of it is checked.
            scheme = self._resolve(sentences)
            self._schemes.update(
                dict.fromkeys({s.get("_source") for s in sentences}, scheme))
        return sentences

    def _known_scheme(self, examples):
        """The scheme remembered for the source of all `examples`, or None."""
        known = {self._schemes.get(ex.get("_source")) for ex in examples}
        return known.pop() if len(known) == 1 else None

    def _resolve(self, examples):
        from kerasnlp_seq.tagged_data import resolve_scheme

        return resolve_scheme(
            examples, self.config.scheme,
            hint="pass --scheme none to learn the tags as plain labels")

    def split_validation(self, examples, fraction, seed):
        """With `doc_context`, hold back whole documents (order kept), so
        that windows stay runs of consecutive sentences."""
        from kerasnlp_seq import doc_context

        if self.config.doc_context:
            split = doc_context.split_documents(examples, fraction, seed)
            if split is not None:
                return split
        return super().split_validation(examples, fraction, seed)

    def _train_tags(self, tags, scheme=None):
        """`tags` (in `scheme`, default the training data's) in the train
        scheme."""
        from kerasnlp_seq.tagging import convert_tags

        scheme = scheme or self.scheme
        if scheme == self.train_scheme or self.scheme == "none":
            return list(tags)
        return convert_tags(tags, scheme, self.train_scheme)

    def gold_scheme(self, examples):
        """The entity scheme of gold `examples`: the training data's for
        sentences from it, else detected (or checked against `--scheme`)
        as `evaluate` does, so each file may use its own scheme."""
        from kerasnlp_seq.tagged_data import resolve_scheme

        scheme = self._known_scheme(examples)
        if scheme is None:
            scheme = resolve_scheme(examples, self.config.scheme)
        if scheme == "none":
            gold = examples[0]["tags"]
            raise DataError(
                f"tags of scheme {self.scheme!r} expected (as in training), "
                f"found tags like {gold[:3]!r}.", examples[0].get("_source"))
        return scheme

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        from kerasnlp_seq.tagging import _split
        from kerasnlp_seq.token_encoder import TokenEncoder

        c = self.config
        if c.doc_context and all(ex.get("_doc") is None for ex in examples):
            log.warning("doc_context=%d has no effect: the training data marks "
                        "no documents (-DOCSTART- lines, or a doc key in JSON "
                        "lines), so each sentence is tagged alone.",
                        c.doc_context)
        self.scheme = self._known_scheme(examples) or self._resolve(examples)
        self._schemes.update(dict.fromkeys(
            {ex.get("_source") for ex in examples}, self.scheme))
        self.train_scheme = (self.scheme if c.train_scheme == "same"
                             or self.scheme == "none" else c.train_scheme)
        source = examples[0].get("_source") or "training data"
        if self.scheme == "none":
            self.tags = sorted({t for ex in examples for t in ex["tags"]})
            if len(self.tags) < 2:
                raise DataError(
                    f"every tag is {self.tags[0]!r}; expected at least two "
                    "different tags to learn.", source)
        else:
            types = sorted({_split(t, self.scheme)[1] for ex in examples
                            for t in ex["tags"]} - {""})
            if not types:
                raise DataError(
                    "no entities: every tag is 'O'; expected training data "
                    "with tagged entities (B-, I-, E-, S- tags).", source)
            prefixes = "BIES" if self.train_scheme == "bioes" else "BI"
            self.tags = ["O"] + [f"{p}-{k}" for k in types for p in prefixes]
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
            crf_constraints=self._crf_constraints(), name=self.name)
        log.info("tags: %d in scheme %s (data: %s)", len(self.tags),
                 self.train_scheme, self.scheme)
        if c.embeddings:
            from kerasnlp_seq.embeddings import set_embedding_weights

            set_embedding_weights(
                model.get_layer("word_embedding"), self.encoder.words.tokens,
                c.embeddings, self._matrix, self.coverage)
        return model

    def _crf_constraints(self):
        from kerasnlp_seq.tagging import allowed_transitions

        if not self.config.crf_constraints or self.scheme == "none":
            return None
        return allowed_transitions(self.tags, self.train_scheme)

    def compile_args(self):
        from kerasnlp_seq.tagger import tagger_compile_args

        scheme = None if self.scheme == "none" else self.train_scheme
        return tagger_compile_args(self.config.head, self.tags, scheme)

    def _encode(self, tokens):
        x = self.encoder.encode(tokens)
        if not self.config.casing:
            x.pop("casing")
        return x

    def tag_ids(self, examples):
        """Training-scheme tag ids per sentence (unseen tags -> 0).

        Sentences from another file than the training data (`--valid`)
        have their own scheme, detected per file and converted.
        """
        index = {t: i for i, t in enumerate(self.tags)}
        schemes = {}
        if self.scheme != "none":
            by_source = {}
            for ex in examples:
                by_source.setdefault(ex.get("_source"), []).append(ex)
            schemes = {source: self.gold_scheme(group)
                       for source, group in by_source.items()}
        return [[index.get(t, 0) for t in self._train_tags(
            ex["tags"], schemes.get(ex.get("_source")))] for ex in examples]

    def windows(self, examples):
        """Sentence indices tagged together (`doc_context`), or None."""
        from kerasnlp_seq import doc_context

        if not self.config.doc_context:
            return None
        return doc_context.windows(
            doc_context.documents(examples),
            [len(ex["tokens"]) for ex in examples], self.config.doc_context)

    def dataset(self, examples, batch_size, training, seed=None,
                batch_tokens=None, with_targets=True):
        """Batches of sentences, or of `doc_context` windows of sentences."""
        from kerasnlp_seq import doc_context
        from kerasnlp_seq.tagger import tagger_targets
        from kerasnlp_seq.tagging_pipeline import tagging_dataset

        def drop_singletons(x, y):
            x = dict(x)
            x["words"] = self.encoder.drop_singletons(
                x["words"], self.config.unk_rate)
            return x, y

        tokens = [ex["tokens"] for ex in examples]
        # Tags convert scheme per sentence, before sentences are joined.
        ids = self.tag_ids(examples) if with_targets else None
        spans = self.windows(examples)
        if spans is not None:
            tokens = doc_context.join(tokens, spans)
            ids = None if ids is None else doc_context.join(ids, spans)
        return tagging_dataset(
            tokens, self._encode, batch_size,
            training, tag_ids=ids,
            targets=lambda y: tagger_targets(self.config.head, y), seed=seed,
            augment=drop_singletons if self.config.unk_rate > 0 else None,
            bucket=self.config.bucket, batch_tokens=batch_tokens)

    # ---------------------------------------------------------- results
    def predict_tags(self, model, token_lists, batch_size=64, docs=None):
        """Tag names (training scheme) for lists of tokens, in order.

        `docs` (one document key per sentence, None for none) lets
        consecutive sentences of one document share context, as in
        training with `doc_context`.
        """
        from kerasnlp_seq import doc_context
        from kerasnlp_seq.tagging_pipeline import predict_tag_ids

        token_lists = [list(t) for t in token_lists]
        if not token_lists:
            return []
        docs = [None] * len(token_lists) if docs is None else list(docs)
        examples = [{"tokens": t, "_doc": d}
                    for t, d in zip(token_lists, docs)]
        ds = self.dataset(examples, batch_size, training=False,
                          with_targets=False)
        rows = predict_tag_ids(model, ds, self.__dict__.setdefault(
            "_functions", {}))
        spans = self.windows(examples)
        if spans is not None:
            rows = doc_context.split(rows, spans,
                                     [len(t) for t in token_lists])
        return [[self.tags[i] for i in row[:len(tokens)]]
                for row, tokens in zip(rows, token_lists)]

    def evaluate(self, model, examples, run_dir=None):
        """Entity P/R/F1 (conlleval) in the gold data's own scheme, or token
        accuracy for tags without entities."""
        from kerasnlp_seq.doc_context import documents
        from kerasnlp_seq.tagging import convert_tags, entity_scores

        predicted = self.predict_tags(
            model, [ex["tokens"] for ex in examples],
            docs=documents(examples))
        gold = [ex["tags"] for ex in examples]
        tokens = sum(len(g) for g in gold)
        if self.scheme == "none":
            correct = sum(a == b for g, p in zip(gold, predicted)
                          for a, b in zip(g, p))
            return {"accuracy": correct / max(tokens, 1),
                    "sentences": len(gold), "tokens": tokens}
        # The gold data may be in another scheme than the training data.
        scheme = self.gold_scheme(examples)
        if self.train_scheme != scheme:
            predicted = [convert_tags(p, self.train_scheme, scheme)
                         for p in predicted]
        scores = entity_scores(gold, predicted, scheme)
        scores.pop("per_type")
        scores.update(sentences=len(gold), tokens=tokens)
        return scores

    def predict(self, model, inputs):
        from kerasnlp_seq.tagged_data import entity_spans
        from kerasnlp_seq.tokenize import tokenize_with_offsets

        inputs = list(inputs)
        tokenized = tokenize_with_offsets(inputs)
        tags = self.predict_tags(model, [tokens for tokens, _ in tokenized])
        answers = []
        for text, (tokens, offsets), row in zip(inputs, tokenized, tags):
            entities = ([] if self.scheme == "none" else
                        entity_spans(text, offsets, row, self.train_scheme))
            answers.append({"tokens": tokens, "tags": row,
                            "entities": entities})
        return answers

    def format_prediction(self, raw, answer):
        tagged = " ".join(f"{t}/{g}" for t, g in zip(answer["tokens"],
                                                      answer["tags"]))
        spans = " ".join(f"[{e['type']} {e['text']!r} {e['start']}:{e['end']}]"
                         for e in answer["entities"])
        return f"{tagged}\t{spans}" if spans else tagged

    def export(self, model, path):
        from kerasnlp_seq.tagger import export_tagger
        from kerasnlp_seq.tokenize import tokenize

        export_tagger(model, tokenize, self._encode,
                      self.encoder.lookup_tables, self.tags, path)
