"""Readers of parallel data: pair files, line-aligned files, TFDS (offline).

Every bad input gets one line naming the file (both files for mismatched
line counts) and the line.
"""

import gzip
import os

import pytest

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.parallel_data import read_parallel

PAIRS = [("Go.", "Ve."), ("I see a cat.", "Veo un gato."),
         ("Thanks!", "¡Gracias!")]


def write(path, lines, gz=False):
    opener = gzip.open if gz else open
    with opener(str(path), "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return str(path)


def test_pair_file_columns_attribution_and_gzip(tmp_path):
    lines = [f"{en}\t{es}\tCC-BY 2.0 (France) #{i}"
             for i, (en, es) in enumerate(PAIRS)]
    path = write(tmp_path / "spa.txt", lines + [""])
    pairs = read_parallel(path)
    assert [(p["source"], p["target"]) for p in pairs] == PAIRS
    assert pairs[1]["_line"] == 2 and pairs[1]["_source"] == path
    # Anki's spa.txt is English first: Spanish -> English reverses it.
    reverse = read_parallel(path, source="1", target="0")
    assert [(p["source"], p["target"]) for p in reverse] == [
        (es, en) for en, es in PAIRS]
    gz = write(tmp_path / "spa.tsv.gz", lines, gz=True)
    assert len(read_parallel(gz)) == 3


@pytest.mark.parametrize("lines, message", [
    (["Go.\tVe.", "only one field"],
     "spa.txt:2: expected at least 2 tab-separated fields (source, "
     "target[, attribution]), found 1."),
    (["Go.\tVe.", "\tVeo."],
     "spa.txt:2: empty source sentence; every pair needs text on both sides"),
    (["Go.\t  "], "spa.txt:1: empty target sentence"),
    ([], "spa.txt: no sentence pairs found; the file is empty."),
])
def test_pair_file_errors_name_file_and_line(tmp_path, lines, message):
    path = write(tmp_path / "spa.txt", lines)
    with pytest.raises(DataError) as info:
        read_parallel(path)
    assert str(info.value).startswith(str(tmp_path / message.split(":")[0]))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_pair_file_column_options_are_checked(tmp_path):
    path = write(tmp_path / "pairs.tsv", ["a\tb"])
    with pytest.raises(DataError) as info:
        read_parallel(path, source="en", target="1")
    assert str(info.value) == (
        f"{path}: a tab-separated pair file has columns, not languages: the "
        "source is a 0-based column index (--source 0 or 1 to train; --set "
        "source=0 or 1 to evaluate a run trained on line-aligned files). "
        "Received: 'en'")
    with pytest.raises(DataError, match=r"same column \(1\)"):
        read_parallel(path, source="1", target="1")
    with pytest.raises(DataError, match="expected at least 3 tab-separated"):
        read_parallel(path, source="2", target="0")


def test_line_aligned_files_by_prefix_and_codes(tmp_path):
    write(tmp_path / "train.en", [en for en, _ in PAIRS])
    write(tmp_path / "train.de.gz", ["Geh.", "Ich sehe eine Katze.",
                                     "Danke!"], gz=True)
    prefix = str(tmp_path / "train")
    pairs = read_parallel(prefix, source="en", target="de")
    assert [p["target"] for p in pairs] == ["Geh.", "Ich sehe eine Katze.",
                                            "Danke!"]
    assert pairs[2]["source"] == "Thanks!" and pairs[2]["_line"] == 3
    assert read_parallel(prefix + ".", source="de", target="en")[0] == {
        "source": "Geh.", "target": "Go.", "_line": 1,
        "_source": prefix + ".de.gz"}


def test_blank_lines_at_the_end_of_line_aligned_files_are_ignored(
        tmp_path):
    write(tmp_path / "val.en", ["Go.", "Thanks!", "", ""])
    write(tmp_path / "val.de", ["Geh.", "Danke!"])
    pairs = read_parallel(str(tmp_path / "val"), source="en", target="de")
    assert [(p["source"], p["target"]) for p in pairs] == [
        ("Go.", "Geh."), ("Thanks!", "Danke!")]
    write(tmp_path / "val.en", ["", ""])
    write(tmp_path / "val.de", [""])
    with pytest.raises(DataError, match="no sentence pairs found"):
        read_parallel(str(tmp_path / "val"), source="en", target="de")


def test_line_aligned_errors(tmp_path):
    en = write(tmp_path / "val.en", ["a", "b", "c"])
    de = write(tmp_path / "val.de", ["x", "y"])
    prefix = str(tmp_path / "val")
    with pytest.raises(DataError) as info:
        read_parallel(prefix, source="en", target="de")
    assert str(info.value) == (
        f"line counts differ: {en} has 3 lines, {de} has 2; line-aligned "
        "files must match line for line.")
    write(tmp_path / "val.de", ["x", "", "z"])
    with pytest.raises(DataError) as info:
        read_parallel(prefix, source="en", target="de")
    assert str(info.value).startswith(f"{de}:2: empty target sentence")
    with pytest.raises(DataError, match=r"no target file .*val\.fr"):
        read_parallel(prefix, source="en", target="fr")
    with pytest.raises(DataError, match="give the prefix and both language"):
        read_parallel(prefix)
    with pytest.raises(DataError, match="found a folder"):
        read_parallel(str(tmp_path), source="en", target="de")
    with pytest.raises(DataError, match="file not found"):
        read_parallel(str(tmp_path / "nowhere" / "x.tsv"))


@pytest.fixture(scope="module")
def ted_metadata(tmp_path_factory):
    """Metadata of a prepared `ted_hrlr_translate/pt_to_en` (see test_tfds)."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import splits as splits_lib

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    builder = tfds.builder("ted_hrlr_translate/pt_to_en", data_dir=data_dir)
    builder.info.set_splits(splits_lib.SplitDict([
        splits_lib.SplitInfo(name=s, shard_lengths=[12], num_bytes=0,
                             filename_template=None)
        for s in ("train", "validation", "test")]))
    os.makedirs(builder.data_path, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)
    return data_dir


def test_tfds_translation_offline(ted_metadata):
    import tensorflow_datasets as tfds

    spec = "tfds:ted_hrlr_translate/pt_to_en"
    with tfds.testing.mock_data(num_examples=12, data_dir=ted_metadata):
        pairs = read_parallel(spec, "train", tfds_data_dir=ted_metadata)
        assert len(pairs) == 12
        assert all(isinstance(p["source"], str) and p["source"]
                   for p in pairs)
        flipped = read_parallel(spec + "?split=test", "train", source="en",
                                target="pt", tfds_data_dir=ted_metadata)
        assert len(flipped) == 12
        valid = read_parallel(spec, "valid", tfds_data_dir=ted_metadata)
        assert len(valid) == 12
        with pytest.raises(DataError) as info:
            read_parallel(spec, "train", source="es",
                          tfds_data_dir=ted_metadata)
        assert str(info.value) == (
            f"{spec}: choose the source feature with --source; features: "
            "['en', 'pt']. Received: 'es'")
