"""The IMDB movie-grouped split of `benchmarks/sentiment.py`."""

import csv
import gzip
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_benchmark():
    path = os.path.join(ROOT, "benchmarks", "sentiment.py")
    spec = importlib.util.spec_from_file_location("sentiment_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_by_id_holds_out_the_top_ids_of_each_class(tmp_path):
    source = tmp_path / "imdb.csv.gz"
    rows = [(f"good film {i}", "positive", 8, f"train/pos/{i}_8.txt")
            for i in range(20)]
    # Negative ids out of order, as a CSV need not be sorted.
    rows += [(f"bad film {i}", "negative", 2, f"train/neg/{i}_2.txt")
             for i in reversed(range(10))]
    with gzip.open(source, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment", "rating", "file"])
        writer.writerows(rows)

    train, valid = load_benchmark().split_by_id(str(source), 0.2, tmp_path)

    def read(path):
        with open(path, encoding="utf-8", newline="") as f:
            return [(r["review"], r["sentiment"]) for r in csv.DictReader(f)]

    held = read(valid)
    assert sorted(held) == sorted(
        [(f"good film {i}", "positive") for i in (16, 17, 18, 19)]
        + [(f"bad film {i}", "negative") for i in (8, 9)])
    kept = read(train)
    assert len(kept) == 24 and not set(kept) & set(held)


def test_split_by_id_names_the_line_of_a_bad_file_column(tmp_path):
    import pytest

    source = tmp_path / "imdb.csv.gz"
    with gzip.open(source, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["review", "sentiment", "rating", "file"])
        writer.writerow(["fine", "positive", 8, "train/pos/0_8.txt"])
        writer.writerow(["odd", "negative", 2, "train/neg/notanid.txt"])

    with pytest.raises(SystemExit) as exit_info:
        load_benchmark().split_by_id(str(source), 0.5, tmp_path)
    assert str(exit_info.value).startswith(f"{source}: line 3: ")
