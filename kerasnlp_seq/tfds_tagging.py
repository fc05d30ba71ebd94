"""Token-tagging data sets from TFDS (`tfds:conll2003`) as tagger sentences.

TFDS tagging data sets hold a `Sequence(Text)` of tokens and one
`Sequence(ClassLabel)` per tag layer (`conll2003`: `ner`, `pos`, `chunks`).
`load_tagged` reads one split through `kerasnlp_seq.tfds_data` and returns
the same `{"tokens": [...], "tags": [...]}` sentences as the CoNLL and JSONL
readers, with the tag ids turned into their names.

Example:

>>> sentences = load_tagged(  # doctest: +SKIP
...     "tfds:conll2003", "train", tag_feature="pos")
"""

from kerasnlp_seq import tfds_data
from kerasnlp_seq.errors import DataError

_ALIASES = {"chunk": "chunks", "tag": "ner", "tags": "ner"}


def _sequence_features(info):
    import tensorflow_datasets as tfds

    return {k: v for k, v in info.features.items()
            if isinstance(v, tfds.features.Sequence)}


def load_tagged(spec, role, tag_feature="ner", token_feature="tokens",
                data_dir=None, download=True):
    """Read a TFDS tagging split as a list of sentences.

    Args:
        spec: str. `tfds:NAME[?split=S]`.
        role: str. `train`, `valid` or `eval` (picks the split).
        tag_feature: str. The tag layer (`ner`, `pos`, `chunks`; `chunk`
            works too). A numeric value (a CoNLL column index) means `ner`.
        token_feature: str. The token feature.
        data_dir: str or None. Where TFDS keeps prepared data.
        download: bool. Whether TFDS may download and prepare the data.

    Returns:
        A list of `{"tokens", "tags"}` dicts, or None when the role has no
        split (`valid` without a validation split).
    """
    import tensorflow_datasets as tfds

    rows, info = tfds_data.load(spec, role, data_dir=data_dir,
                                download=download)
    if rows is None:
        return None
    sequences = _sequence_features(info)
    name = str(tag_feature)
    if name.lstrip("-").isdigit():
        name = "ner"
    name = name if name in sequences else _ALIASES.get(name, name)
    for key, role_name in ((token_feature, "token"), (name, "tag")):
        if key not in sequences:
            raise DataError(
                f"no {role_name} feature {key!r}. Sequence features: "
                f"{sorted(sequences)}.", spec)
    inner = sequences[name].feature
    names = (list(inner.names) if isinstance(inner, tfds.features.ClassLabel)
             else None)
    sentences = []
    for row in rows:
        tokens = [str(t) for t in row[token_feature]]
        tags = [names[i] if names is not None else str(i) for i in row[name]]
        if len(tokens) != len(tags):
            raise DataError(
                f"{len(tokens)} tokens but {len(tags)} {name} tags in one "
                "example; expected one tag per token.", spec)
        if tokens:
            sentences.append({"tokens": tokens, "tags": tags})
    if not sentences:
        raise DataError("no sentences in this split.", spec)
    return sentences
