"""TensorFlow Datasets as a data source: `tfds:NAME[?split=SPLIT]`.

`tfds:imdb_reviews`, `tfds:glue/sst2?split=validation`, `tfds:conll2003`.
Without `?split=`, the split follows the role: `train` for training,
`validation` for validation (None if the data set has none, so the caller
holds back a fraction), `test` (else `validation`) for evaluation. A test
split without labels (GLUE's: every class label is -1) gives way to
`validation` for evaluation.

Downloads go to `data_dir` (TFDS's default, or `$TFDS_DATA_DIR`); a data set
already prepared there loads offline, without any download attempt. Unknown
names, data sets neither prepared nor downloadable, and missing splits are
`DataError`s in one line. A download that cannot connect gives up after
`DOWNLOAD_RETRIES` retries (seconds), not TFDS's ten (about 3.5 minutes of
back-off on an offline machine, with a warning line per retry).
"""

import contextlib
import logging
import urllib.parse

import numpy as np

from kerasnlp_seq.errors import DataError

PREFIX = "tfds:"
DOWNLOAD_RETRIES = 3
_ROLE_SPLITS = {"train": ("train",), "valid": ("validation", "dev"),
                "eval": ("test", "validation")}


def is_tfds(spec):
    """Whether a data spec names a TFDS data set."""
    return isinstance(spec, str) and spec.startswith(PREFIX)


def parse_spec(spec):
    """`tfds:NAME[?split=S]` -> `(name, split or None)`."""
    body = spec[len(PREFIX):]
    name, _, query = body.partition("?")
    params = urllib.parse.parse_qs(query)
    unknown = sorted(set(params) - {"split"})
    if not name or unknown:
        raise DataError(
            "expected `tfds:NAME` or `tfds:NAME?split=SPLIT`"
            + (f"; unknown parameter(s) {unknown}" if unknown else "") + ".",
            spec)
    split = params.get("split", [None])[0]
    return name, split


def _python(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in ("S", "O"):
            return [_python(v) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _python(v) for k, v in value.items()}
    return value


def load(spec, role, data_dir=None, download=True, limit=None):
    """Load a TFDS split as a list of plain-Python dicts.

    Args:
        spec: str. `tfds:NAME[?split=S]`.
        role: str. `train`, `valid` or `eval` (picks the split, see above).
        data_dir: str or None. Where TFDS keeps prepared data.
        download: bool. Whether TFDS may download and prepare the data.
        limit: int or None. Keep at most this many examples.

    Returns:
        `(records, info)`, or `(None, info)` when the role has no split.
    """
    import tensorflow_datasets as tfds

    name, split = parse_spec(spec)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as e:  # DatasetNotFoundError and friends
        raise DataError(
            f"unknown TFDS data set {name!r} ({type(e).__name__}: "
            f"{_first_line(e)}).",
            spec) from None
    if not builder.is_prepared():
        _prepare(builder, name, spec, data_dir, download)
    info = builder.info
    available = list(info.splits.keys())
    chosen_by_role = split is None
    if split is None:
        split = next((s for s in _ROLE_SPLITS[role] if s in available), None)
        if split is None:
            if role == "valid":
                return None, info
            raise DataError(
                f"no split for {role}; available splits: {available} "
                "(choose one with ?split=).", spec)
    records = _read_split(builder, split, spec, available, limit)
    if (chosen_by_role and role == "eval" and split == "test"
            and "validation" in available and _unlabelled(records, info)):
        split = "validation"
        records = _read_split(builder, split, spec, available, limit)
    return records, info


def _first_line(error, width=160):
    text = str(error).strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[:width - 3] + "..."


def _prepare(builder, name, spec, data_dir, download):
    """Download and prepare a data set not prepared in `data_dir`, or say
    in one line that it is not there and how to put it there."""
    from tensorflow_datasets.core import constants

    root = str(data_dir) if data_dir else constants.get_default_data_dir()
    cause = "and downloading is off"
    if download:
        try:
            with _few_retries(DOWNLOAD_RETRIES):
                builder.download_and_prepare()
            return
        except Exception as e:  # offline, missing credentials, ...
            cause = (f"and could not be downloaded ({type(e).__name__}: "
                     f"{_first_line(e)})")
    raise DataError(
        f"TFDS data set {name!r} is not prepared in {root} {cause}. "
        f"Prepare it on a machine with internet (`tfds build {name} "
        f"--data_dir DIR`) and copy DIR/{name.split('/')[0]} into {root}, "
        "or run online.", spec) from None


@contextlib.contextmanager
def _few_retries(retries):
    """Within the block, TFDS's HTTP downloads retry at most `retries`
    times, and urllib3's one-warning-per-retry lines are not shown (the
    `DataError` names the failure). TFDS keeps its retry count in
    `downloader.MAX_RETRIES`; a TFDS without it is left as it is."""
    from tensorflow_datasets.core.download import downloader

    saved = getattr(downloader, "MAX_RETRIES", None)
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    if isinstance(saved, int):
        downloader.MAX_RETRIES = min(saved, retries)
    pool_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pool_log.setLevel(level)
        if isinstance(saved, int):
            downloader.MAX_RETRIES = saved


def _read_split(builder, split, spec, available, limit):
    import tensorflow_datasets as tfds

    try:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
    except Exception as e:
        raise DataError(
            f"could not read split {split!r} ({type(e).__name__}: "
            f"{_first_line(e)}); available splits: {available}.",
            spec) from None
    if limit:
        dataset = dataset.take(limit)
    records = [_python(example) for example in tfds.as_numpy(dataset)]
    if not records:
        raise DataError(f"split {split!r} is empty.", spec)
    return records


def _unlabelled(records, info):
    """Whether every top-level class label of `records` is -1 (GLUE test)."""
    import tensorflow_datasets as tfds

    labels = [k for k, v in info.features.items()
              if isinstance(v, tfds.features.ClassLabel)]
    return bool(labels) and all(
        all(r.get(k) == -1 for r in records) for k in labels)


def class_names(info, feature):
    """Names of a `ClassLabel` feature, or None for other features."""
    import tensorflow_datasets as tfds

    spec = info.features[feature] if feature in info.features else None
    if isinstance(spec, tfds.features.ClassLabel):
        return list(spec.names)
    return None


def text_features(info):
    """Names of the top-level text features of a data set, in order."""
    import tensorflow_datasets as tfds

    return [k for k, v in info.features.items()
            if isinstance(v, tfds.features.Text)]
