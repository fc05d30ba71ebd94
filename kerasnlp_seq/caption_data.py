"""Readers of image-caption data: Flickr8k, CSV / TSV / JSONL, COCO JSON, TFDS.

Every reader returns one record per image, `{"image": path, "captions":
[str, ...], "_source": "file:line"}` (TFDS records carry the decoded
`"array"` instead of a path), so evaluation decodes each image once and
scores it against all its references; training expands the records to one
example per (image, caption) pair. `attach_pixels` then decodes the images
once, into memory: files that are missing or do not decode are reported by
name and skipped with a count, not a crash.

Data specs:

- `DIR` holding `Flickr8k.token.txt` (`image.jpg#n<TAB>caption`), the split
  lists `Flickr_8k.{train,dev,test}Images.txt` and the images (in
  `DIR/images`, `DIR/Flicker8k_Dataset` or `DIR` itself). The split comes
  from `DIR?split=train|dev|test|all`, or from the role: `train` for
  training, `dev` for validation, `test` (else `dev`) for evaluation. A split
  list file itself (`DIR/Flickr_8k.devImages.txt`) selects that split.
- `FILE.csv|tsv|jsonl[.gz]`: columns `image` (a path, relative to the
  file's folder or absolute) and `caption`; rows of one image are grouped.
- `FILE.json`: COCO style, `{"images": [{"id", "file_name"}], "annotations":
  [{"image_id", "caption"}]}`; `file_name` relative to the file's folder (or
  its `images/` folder, or `image_root`).
- `tfds:coco_captions[?split=S]`: TensorFlow Datasets (see `tfds_data`).
"""

import collections
import json
import os
import re
import urllib.parse

import numpy as np

from kerasnlp_seq import tfds_data
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.images import (load_images, native_shape, report_failures,
                                 resize_pixels, resolve)
from kerasnlp_seq.readers import open_lines, read_table

TOKEN_FILE = "Flickr8k.token.txt"
SPLITS = ("train", "dev", "test", "all")
_ROLE_SPLITS = {"train": ("train",), "valid": ("dev",), "eval": ("test", "dev")}
_LIST = re.compile(r"^Flickr_8k\.(train|dev|test)Images\.txt$")


def read_captions(spec, role, image_root=None, tfds_data_dir=None,
                  limit=None):
    """Read image-caption records from a data spec (see the module doc).

    Args:
        spec: str. A Flickr8k folder (`?split=` optional), a split list
            file, a CSV / TSV / JSONL / COCO JSON file, or `tfds:NAME`.
        role: str. `"train"`, `"valid"` or `"eval"` (picks default splits).
        image_root: str or None. Folder that relative image paths start
            from (default: the data file's folder).
        tfds_data_dir: str or None. TFDS data directory.
        limit: int or None. Keep at most this many images.

    Returns:
        A list of records, or None for a `valid` role with no such split.
    """
    spec = str(spec)
    if tfds_data.is_tfds(spec):
        return _read_tfds(spec, role, tfds_data_dir, limit)
    path, _, query = spec.partition("?")
    split = _split_param(spec, query)
    name = os.path.basename(path.rstrip("/"))
    if os.path.isdir(path) or name == TOKEN_FILE or _LIST.match(name):
        records = _read_flickr(path, split, role, spec)
    elif split is not None:
        raise DataError("`?split=` applies to a Flickr8k folder only.", spec)
    elif not os.path.exists(path):
        raise DataError("file not found.", path)
    else:
        coco = _coco_json(path) if path.lower().endswith(".json") else None
        records = (_read_table(path, image_root) if coco is None
                   else _read_coco(path, coco, image_root))
    return records[:limit] if limit else records


def _split_param(spec, query):
    params = urllib.parse.parse_qs(query)
    unknown = sorted(set(params) - {"split"})
    if unknown:
        raise DataError(f"unknown parameter(s) {unknown}; expected "
                        "`?split=` one of " + "|".join(SPLITS) + ".", spec)
    split = params.get("split", [None])[0]
    if split is not None and split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of "
                        f"{list(SPLITS)}.", spec)
    return split


def _group(pairs):
    """`(image, caption, source)` triples -> one record per image, in order."""
    records = collections.OrderedDict()
    for image, caption, source in pairs:
        record = records.setdefault(
            image, {"image": image, "captions": [], "_source": source})
        record["captions"].append(caption.strip())
    return list(records.values())


def _read_flickr(path, split, role, spec):
    name = os.path.basename(path.rstrip("/"))
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    match = _LIST.match(name)
    if match:
        split = match.group(1)
    token_file = os.path.join(folder, TOKEN_FILE)
    if not os.path.exists(token_file):
        raise DataError(f"no {TOKEN_FILE} here; expected a Flickr8k folder "
                        "(or give a CSV / JSONL / COCO JSON file).", folder)
    lists = {s: os.path.join(folder, f"Flickr_8k.{s}Images.txt")
             for s in ("train", "dev", "test")}
    if split is None:
        split = next((s for s in _ROLE_SPLITS[role]
                      if os.path.exists(lists[s])), None)
        if split is None:
            looked = [os.path.basename(lists[s]) for s in _ROLE_SPLITS[role]]
            raise DataError(f"no split list for {role} (looked for "
                            f"{looked}); choose one with ?split=.", folder)
    images = _image_folder(folder)
    pairs = []
    for lineno, text in open_lines(token_file):
        if not text.strip():
            continue
        fields = text.rstrip("\r\n").split("\t")
        if len(fields) != 2 or "#" not in fields[0]:
            raise DataError("expected `image.jpg#n<TAB>caption`, found "
                            f"{text.strip()[:60]!r}.", token_file, lineno)
        image = fields[0].rsplit("#", 1)[0]
        if not fields[1].strip():
            raise DataError("empty caption.", token_file, lineno)
        pairs.append((image, fields[1], f"{token_file}:{lineno}"))
    records = _group(pairs)
    if split != "all":
        wanted = _read_list(lists[split])
        by_name = {r["image"]: r for r in records}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise DataError(f"{len(missing)} listed image(s) have no caption "
                            f"in {TOKEN_FILE}, e.g. {missing[0]!r}.",
                            lists[split])
        records = [by_name[n] for n in wanted]
    for record in records:
        record["image"] = os.path.join(images, record["image"])
    return records


def _read_list(path):
    if not os.path.exists(path):
        raise DataError("split list not found.", path)
    names = list(dict.fromkeys(
        t.strip() for _, t in open_lines(path) if t.strip()))
    if not names:
        raise DataError("empty split list.", path)
    return names


def _image_folder(folder):
    for sub in ("images", "Flicker8k_Dataset", "Flickr8k_Dataset"):
        if os.path.isdir(os.path.join(folder, sub)):
            return os.path.join(folder, sub)
    return folder


def _read_table(path, image_root):
    rows = read_table(path, {"image": "image", "caption": "caption"})
    root = image_root or os.path.dirname(os.path.abspath(path))
    return _group((resolve(r["image"].strip(), root), r["caption"],
                   f"{path}:{r['_line']}") for r in rows)


def _coco_json(path):
    """The parsed file if it is one JSON object with COCO keys, else None
    (JSON lines and other objects go to the table reader)."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and ("images" in data or "annotations" in data):
        return data
    return None


def _read_coco(path, data, image_root):
    if not {"images", "annotations"} <= set(data):
        raise DataError("expected a COCO caption file, an object with "
                        f"`images` and `annotations`; found {sorted(data)}.",
                        path)
    folder = os.path.dirname(os.path.abspath(path))
    root = image_root or (os.path.join(folder, "images") if os.path.isdir(
        os.path.join(folder, "images")) else folder)
    files = {}
    for i, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or \
                "file_name" not in image:
            raise DataError(f"images[{i}] needs `id` and `file_name`; found "
                            f"{image!r:.80}.", path)
        files[image["id"]] = resolve(image["file_name"], root)
    pairs = []
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann or \
                not isinstance(ann.get("caption"), str):
            raise DataError(f"annotations[{i}] needs `image_id` and a "
                            f"string `caption`; found {ann!r:.80}.", path)
        if ann["image_id"] not in files:
            raise DataError(f"annotations[{i}] refers to image_id "
                            f"{ann['image_id']!r}, which is not in `images`.",
                            path)
        if not ann["caption"].strip():
            raise DataError(f"annotations[{i}] has an empty caption.", path)
        pairs.append((files[ann["image_id"]], ann["caption"],
                      f"{path}:annotations[{i}]"))
    if not pairs:
        raise DataError("no annotations found.", path)
    return _group(pairs)


def _read_tfds(spec, role, data_dir, limit):
    rows, _ = tfds_data.load(spec, role, data_dir=data_dir, limit=limit)
    if rows is None:
        return None
    records = []
    for i, row in enumerate(rows):
        captions = row.get("captions")
        texts = captions.get("text") if isinstance(captions, dict) else None
        if "image" not in row or not texts:
            raise DataError("expected features `image` and `captions/text` "
                            f"(as in coco_captions); found {sorted(row)}.",
                            spec)
        name = row.get("image/filename") or f"{spec}[{i}]"
        records.append({"image": name, "array": np.asarray(
            row["image"], np.uint8), "captions": [t.strip() for t in texts],
            "_source": f"{spec}[{i}]"})
    return records


def attach_pixels(records, size, echo=None):
    """Decode every record's image to `uint8` `(size, size, 3)`, once.

    Records whose image is missing or corrupt are dropped and reported
    (`images.report_failures`: the first ten by name, then a count; through
    `echo`, else as logged warnings). When none can be read, the only report
    is the `DataError`.

    Returns:
        The kept records, each with a `"pixels"` array.
    """
    files = [r for r in records if "array" not in r]
    pixels, kept, failures = load_images([r["image"] for r in files], size)
    for row, index in enumerate(kept):
        files[index]["pixels"] = pixels[row]
    for record in records:
        if "array" in record:
            record["pixels"] = resize_pixels(record.pop("array"),
                                             size).numpy()
    out = [r for r in records if "pixels" in r]
    if not out:
        first, reason = failures[0]
        hint = ("; relative image paths start from the data file's folder "
                "or image_root (--image-root to train, --set image_root=DIR "
                "to evaluate)" if reason == "file not found" else "")
        raise DataError(f"none of the {len(records)} images could be read "
                        f"(first: {first}: {reason}){hint}.")
    report_failures(failures, len(records), echo)
    return out


def first_image_side(records, low=32, high=224):
    """The longer side of the first readable image, clamped to low..high
    (the default image size: the data's own, within reason)."""
    for record in records:
        if "array" in record:
            side = max(record["array"].shape[:2])
        else:
            try:
                side = max(native_shape(record["image"]))
            except (OSError, ValueError):
                continue
        return int(min(high, max(low, side)))
    return high
