"""Tagged sentences from any source, their tag scheme, and entity spans in raw text.

`read_tagged` reads a data spec (a CoNLL column file, JSON lines, or
`tfds:NAME`) into `{"tokens", "tags"}` sentences, choosing token and tag
columns by index or by name, so one reader serves NER, POS and chunking.
`resolve_scheme` detects (or checks a declared) tag scheme: IOB1, IOB2,
BIOES, or `"none"` for tags that name no entities (POS). `entity_spans`
turns one sentence's tags into character spans of its raw text.

Each sentence also carries `_source` (the spec) and `_index` (1-based), so
a later problem can still name the file and the sentence.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "train.txt"
>>> _ = path.write_text("EU NNP I-NP I-ORG\\nrejects VBZ I-VP O\\n")
>>> names = ["token", "pos", "chunk", "ner"]
>>> resolve_scheme(read_tagged(path, tag_column="ner", columns=names))
'iob1'
>>> [s["tags"] for s in read_tagged(path, tag_column="pos", columns=names)]
[['NNP', 'VBZ']]
"""

import re

from kerasnlp_seq import conll, tfds_data
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.tagging import _split, detect_scheme, get_entities

FORMATS = ("conll", "jsonl")
_ENTITY_TAG = re.compile(r"^(O|[BIES]-.+)$")
_PREFIXED_TAG = re.compile(r"^(O|[A-Z]-.+)$")


def _column(value):
    """`"2"` / `"-1"` -> int; a name stays a str."""
    value = str(value).strip()
    return int(value) if re.fullmatch(r"-?\d+", value) else value


def read_tagged(spec, role="train", format=None, token_column=0,
                tag_column=-1, columns=None, tfds_data_dir=None,
                documents=False):
    """Read tagged sentences from a file or a TFDS data set.

    Args:
        spec: str. A CoNLL file, a `.jsonl` file (`{"tokens", "tags"}` per
            line), or `tfds:NAME[?split=S]`; gzip by a `.gz` suffix.
        role: str. `train`, `valid` or `eval` (picks TFDS splits).
        format: str or None. `"conll"` or `"jsonl"`; None: from the name.
        token_column: int or str. CoNLL token column (index or name); for
            JSON lines, a name is the key of the tokens (default `tokens`).
        tag_column: int or str. CoNLL tag column (index, `-1` the last, or a
            name from `columns`); for JSON lines, a name is the key of the
            tags (default `tags`); for TFDS, the tag feature (`ner`, `pos`).
        columns: list of str or None. Names of the CoNLL columns.
        tfds_data_dir: str or None. TFDS data directory.
        documents: bool. Files also give each sentence `"_doc"`, its
            document (`-DOCSTART-` count, or JSON lines' `"doc"`) or None.

    Returns:
        A list of `{"tokens", "tags", "_source", "_index"}` dicts (and
        `"_doc"`, see `documents`), or None for a TFDS `valid` role
        without a validation split.
    """
    if tfds_data.is_tfds(spec):
        from kerasnlp_seq.tfds_tagging import load_tagged

        sentences = load_tagged(spec, role, tag_feature=tag_column,
                                data_dir=tfds_data_dir)
        if sentences is None:
            return None
    else:
        spec = str(spec)
        fmt = format or ("jsonl" if re.search(
            r"\.(jsonl|json|ndjson)(\.gz)?$", spec) else "conll")
        if fmt not in FORMATS:
            raise DataError(f"unknown format. Expected one of {list(FORMATS)}."
                            f" Received: format={fmt!r}", spec)
        if fmt == "jsonl":
            # Columns are keys here: a name picks one, an index keeps the
            # default "tokens" / "tags".
            token, tag = _column(token_column), _column(tag_column)
            sentences = conll.read_tagged_jsonl(
                spec, token_key=token if isinstance(token, str) else "tokens",
                tag_key=tag if isinstance(tag, str) else "tags",
                documents=documents)
        else:
            token, tag = _column(token_column), _column(tag_column)
            names = None
            if isinstance(token, str) or isinstance(tag, str):
                names = list(columns or [])
            sentences = conll.read_conll(spec, token_column=token,
                                         tag_column=tag, columns=names,
                                         documents=documents)
    for n, sentence in enumerate(sentences, start=1):
        if not all(token.strip() for token in sentence["tokens"]):
            raise DataError(f"sentence {n} has an empty token; expected "
                            "non-empty tokens.", spec)
        sentence["_source"], sentence["_index"] = spec, n
    return sentences


def check_tags(sentences, scheme):
    """Raise `DataError` (naming source and sentence) for a tag off `scheme`."""
    for sentence in sentences:
        for tag in sentence["tags"]:
            try:
                _split(tag, scheme)
            except DataError as e:
                raise DataError(f"sentence {sentence.get('_index', '?')}: {e}",
                                sentence.get("_source")) from None


def resolve_scheme(sentences, scheme="auto"):
    """The tag scheme of gold sentences: declared (and checked) or detected.

    Detection: tags that are all `O` or `B/I/E/S-TYPE` are an entity
    scheme (`tagging.detect_scheme`); other tags (POS) are `"none"`; tags
    shaped `X-TYPE` with other prefixes (BILOU's `U-`, `L-`) are an
    unknown scheme and an error.

    Args:
        sentences: list of `{"tags": [...]}` dicts.
        scheme: str. `"auto"`, `"iob1"`, `"iob2"`, `"bioes"` or `"none"`.
    """
    if scheme == "none":
        return scheme
    if scheme != "auto":
        check_tags(sentences, scheme)
        return scheme
    sequences = [s["tags"] for s in sentences]
    tags = {t for seq in sequences for t in seq}
    if all(_ENTITY_TAG.match(t) for t in tags):
        return detect_scheme(sequences)
    if all(_PREFIXED_TAG.match(t) for t in tags):
        prefixes = sorted({t[0] for t in tags} - set("BIESO"))
        example = sorted(t for t in tags if t[0] in prefixes)[0]
        raise DataError(
            f"unknown tag scheme: prefixes {prefixes} (e.g. {example!r}). "
            "Expected IOB1, IOB2 or BIOES tags (B-, I-, E-, S-, O); pass "
            "--scheme none to learn the tags as plain labels.",
            sentences[0].get("_source"))
    return "none"


def entity_spans(text, offsets, tags, scheme):
    """Entities of one tagged sentence as character spans of its text.

    Args:
        text: str. The raw sentence.
        offsets: list of `(start, end)`. Character offsets of its tokens.
        tags: list of str. One tag per token.
        scheme: str. The tags' scheme.

    Returns:
        A list of `{"text", "type", "start", "end"}` dicts (`end` exclusive).

    Example:

    >>> entity_spans("Hi Bob!", [(0, 2), (3, 6), (6, 7)],
    ...              ["O", "S-PER", "O"], "bioes")
    [{'text': 'Bob', 'type': 'PER', 'start': 3, 'end': 6}]
    """
    spans = []
    for kind, first, last in get_entities(tags, scheme):
        start, end = offsets[first][0], offsets[last - 1][1]
        spans.append({"text": text[start:end], "type": kind, "start": start,
                      "end": end})
    return spans
