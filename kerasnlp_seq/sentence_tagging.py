"""Sentences to a tagger and back: input features, document windows, batches, tag names.

`tagging_pipeline` batches lists of tokens; this module works one level up,
on the sentences a tagging task holds (`{"tokens", "_doc", ...}` dicts from
`tagged_data.read_tagged`, or raw token lists):

- `token_features`: the encode callable of a tagger's inputs (word,
  character and casing ids from a `token_encoder.TokenEncoder`), for
  datasets and for `tagger.export_tagger` alike.
- `singleton_dropout`: the training augmentation that turns words seen once
  into the unknown word (Lample et al. 2016).
- `sentence_windows`: consecutive sentences of one document that a tagger
  reads together (`doc_context`), within a token budget.
- `sentence_dataset`: training or evaluation batches of sentences, or of
  their windows, with the tagger's targets (`tagger.tagger_targets`).
- `predict_tags`: tag names per sentence, in order, windows split back.
- `tag_texts` and `format_tagged`: raw sentences in, tokens, tags and
  entity spans (character offsets) out, and one line of text for each.

Example:

>>> from kerasnlp_seq.tagger import build_sequence_tagger
>>> from kerasnlp_seq.token_encoder import TokenEncoder
>>> sentences = [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]
>>> encoder = TokenEncoder.adapt(sentences)
>>> tags = ["O", "S-ORG", "S-MISC", "B-PER", "E-PER"]
>>> model = build_sequence_tagger(encoder.words.size, len(tags),
...                               num_chars=encoder.chars.size, word_dim=8,
...                               char_units=4, units=8)
>>> predicted = predict_tags(model, sentences, token_features(encoder), tags)
>>> [len(row) for row in predicted]
[4, 2]
"""

from kerasnlp_seq import doc_context
from kerasnlp_seq.tagged_data import entity_spans
from kerasnlp_seq.tagger import tagger_targets
from kerasnlp_seq.tagging_pipeline import predict_tag_ids, tagging_dataset
from kerasnlp_seq.tokenize import tokenize_with_offsets


def token_features(encoder, casing=True):
    """The encode callable of a tagger: ragged tokens -> its input dict.

    Args:
        encoder: `token_encoder.TokenEncoder`. Words and characters.
        casing: bool. Keep the casing-class ids; False for a tagger built
            with `casing=False`, which takes none.
    """
    def encode(tokens):
        x = encoder.encode(tokens)
        if not casing:
            x.pop("casing")
        return x

    return encode


def singleton_dropout(encoder, rate):
    """`(inputs, targets)` augmentation dropping singleton words, or None.

    Args:
        encoder: `token_encoder.TokenEncoder`. Knows the singleton ids.
        rate: float. Rate at which a singleton becomes the unknown word; 0
            (or less): no augmentation, None.
    """
    if rate <= 0:
        return None

    def augment(x, y):
        x = dict(x)
        x["words"] = encoder.drop_singletons(x["words"], rate)
        return x, y

    return augment


def sentence_windows(sentences, max_tokens):
    """Sentence indices that a tagger reads together, or None.

    Args:
        sentences: list of `{"tokens"}` dicts; `"_doc"` (and `"_source"`,
            `"_index"`) say which are consecutive in one document
            (`doc_context.documents`).
        max_tokens: int. Token budget of a window; 0: None (each sentence
            alone).

    Returns:
        None, or a list of windows, each a list of sentence indices.
    """
    if not max_tokens:
        return None
    return doc_context.windows(doc_context.documents(sentences),
                               [len(s["tokens"]) for s in sentences],
                               max_tokens)


def sentence_dataset(sentences, encode, batch_size, training, tag_ids=None,
                     head="crf", max_tokens=0, seed=None, augment=None,
                     bucket=True, batch_tokens=None):
    """Batches of a tagger's inputs (and targets) for sentences or windows.

    Args:
        sentences: list of `{"tokens"}` dicts (see `sentence_windows`).
        encode: callable. Ragged tokens -> input dict (`token_features`).
        batch_size: int. Sentences (or windows) per batch.
        training: bool. Shuffle, augment and bucket by length.
        tag_ids: list of lists of int or None. Tag ids per sentence
            (`tag_set.tag_ids`); None: inputs only.
        head: str. The tagger's head (`"crf"` or `"softmax"`), for targets.
        max_tokens: int. Window token budget (`sentence_windows`); 0: one
            sentence at a time.
        seed: int or None. Shuffle seed.
        augment: callable or None. Training augmentation
            (`singleton_dropout`).
        bucket: bool. Bucket training batches by length.
        batch_tokens: int or None. Token budget per training batch.
    """
    tokens = [s["tokens"] for s in sentences]
    spans = sentence_windows(sentences, max_tokens)
    if spans is not None:
        tokens = doc_context.join(tokens, spans)
        if tag_ids is not None:
            tag_ids = doc_context.join(tag_ids, spans)
    return tagging_dataset(
        tokens, encode, batch_size, training, tag_ids=tag_ids,
        targets=lambda y: tagger_targets(head, y), seed=seed,
        augment=augment, bucket=bucket, batch_tokens=batch_tokens)


def predict_tags(model, token_lists, encode, tag_names, batch_size=64,
                 docs=None, max_tokens=0, cache=None):
    """Tag names for lists of tokens, in order.

    Args:
        model: a tagger whose output dict has `tags` (int ids).
        token_lists: iterable of lists of str. One list per sentence.
        encode: callable. Ragged tokens -> input dict (`token_features`).
        tag_names: list of str. Tag names by id.
        batch_size: int. Sentences (or windows) per batch.
        docs: list or None. A document key per sentence (None for none,
            e.g. `doc_context.documents`): with `max_tokens`, consecutive
            sentences of one document are tagged together, as in training.
        max_tokens: int. Window token budget; 0: each sentence alone.
        cache: dict or None. Keeps the traced function between calls
            (`tagging_pipeline.predict_tag_ids`).

    Returns:
        A list of lists of str, one tag per token.
    """
    token_lists = [list(t) for t in token_lists]
    if not token_lists:
        return []
    docs = [None] * len(token_lists) if docs is None else list(docs)
    sentences = [{"tokens": t, "_doc": d} for t, d in zip(token_lists, docs)]
    ds = sentence_dataset(sentences, encode, batch_size, training=False,
                          max_tokens=max_tokens)
    rows = predict_tag_ids(model, ds, cache)
    spans = sentence_windows(sentences, max_tokens)
    if spans is not None:
        rows = doc_context.split(rows, spans, [len(t) for t in token_lists])
    return [[tag_names[i] for i in row[:len(tokens)]]
            for row, tokens in zip(rows, token_lists)]


def tag_texts(model, texts, encode, tag_names, scheme, batch_size=64,
              cache=None):
    """Tokens, tags and entity spans of raw sentences.

    Sentences are tokenized as the exported tagger tokenizes them
    (`tokenize.tokenize_with_offsets`) and each is tagged alone.

    Args:
        model: a tagger whose output dict has `tags` (int ids).
        texts: iterable of str. One raw sentence each.
        encode: callable. Ragged tokens -> input dict (`token_features`).
        tag_names: list of str. Tag names by id.
        scheme: str. The tags' scheme; `"none"`: tags name no entities.
        batch_size: int. Sentences per batch.
        cache: dict or None. As in `predict_tags`.

    Returns:
        A list of `{"tokens", "tags", "entities"}` dicts; `entities` as
        `tagged_data.entity_spans` gives them (`[]` for scheme `"none"`).
    """
    texts = list(texts)
    tokenized = tokenize_with_offsets(texts)
    tags = predict_tags(model, [tokens for tokens, _ in tokenized], encode,
                        tag_names, batch_size, cache=cache)
    return [{"tokens": tokens, "tags": row,
             "entities": ([] if scheme == "none" else
                          entity_spans(text, offsets, row, scheme))}
            for text, (tokens, offsets), row in zip(texts, tokenized, tags)]


def format_tagged(answer):
    """One line of text for a `tag_texts` answer.

    `token/TAG` pairs, then (if there are entities) a tab and each entity
    as `[TYPE 'text' start:end]`.

    Example:

    >>> format_tagged({"tokens": ["Hi", "Bob"], "tags": ["O", "S-PER"],
    ...                "entities": [{"type": "PER", "text": "Bob",
    ...                              "start": 3, "end": 6}]})
    "Hi/O Bob/S-PER\\t[PER 'Bob' 3:6]"
    """
    tagged = " ".join(f"{t}/{g}" for t, g in zip(answer["tokens"],
                                                  answer["tags"]))
    spans = " ".join(f"[{e['type']} {e['text']!r} {e['start']}:{e['end']}]"
                     for e in answer["entities"])
    return f"{tagged}\t{spans}" if spans else tagged
