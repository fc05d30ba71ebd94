"""The `kerasnlp-seq` command line: train, evaluate, predict, export, errors.

One multi-class run is trained for the whole session (`trained_run` in
conftest.py); the tests here drive it through `click.testing.CliRunner`.
Extra trainings (overwrite + seed reproducibility, interrupt + resume) are
tiny.
"""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def snapshot(directory):
    """Relative path -> sha256 of every file under `directory`."""
    out = {}
    for base, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def history(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        return list(csv.DictReader(f))


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------- light paths


@pytest.mark.parametrize("args", [["--help"], ["tasks"], ["train", "--help"],
                                  ["train", "sentiment", "--help"]])
def test_help_and_tasks_do_not_import_tensorflow(args):
    script = (
        "import sys; from click.testing import CliRunner; import cli; "
        f"r = CliRunner().invoke(cli.main, {args!r}); "
        "assert r.exit_code == 0, r.output; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
        "assert 'keras' not in sys.modules, 'keras imported'; "
        "print(r.output)")
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "sentiment" in proc.stdout or args == ["--help"]


def test_tasks_lists_sentiment_with_its_options(cli):
    result = cli("tasks")
    assert result.exit_code == 0
    assert "sentiment: text -> label" in result.output
    assert "--text-column" in result.output and "--cell" in result.output


def test_unknown_task_and_bad_option_values_exit_2(cli, tmp_path):
    assert cli("train", "no_such_task").exit_code == 2
    out = str(tmp_path / "run")
    for bad in (["--cell", "transformer"], ["--optimizer", "adagrad"],
                ["--epochs", "two"], ["--format", "xml"]):
        result = cli("train", "sentiment", "--output", out, *bad)
        assert result.exit_code == 2, (bad, result.output)
        assert "Invalid value" in result.output
        assert "Traceback" not in result.output
        assert not os.path.exists(out)
    assert cli("predict", out, "x", "--format", "yaml").exit_code == 2


# ---------------------------------------------------------- the trained run


def test_train_writes_a_complete_run_directory(trained_run):
    run = trained_run.run_dir
    for name in ("config.json", "vocab.txt", "labels.json", "model.keras",
                 "metrics.json", "history.csv", "training_curve.png",
                 "train.log", "saved_model/saved_model.pb"):
        assert os.path.isfile(os.path.join(run, name)), name
    assert not os.path.exists(os.path.join(run, "backup"))
    logs = os.listdir(os.path.join(run, "logs"))
    assert "train" in logs and "validation" in logs
    config = read_json(os.path.join(run, "config.json"))
    assert config["status"] == "complete" and config["task"] == "sentiment"
    assert config["data"] == trained_run.data
    assert config["task_config"]["units"] == 8
    assert config["task_config"]["bidirectional"] is False
    assert config["train_config"]["epochs"] == 2
    assert read_json(os.path.join(run, "labels.json")) == ["neg", "neu",
                                                            "pos"]
    with open(os.path.join(run, "vocab.txt"), encoding="utf-8") as f:
        vocab = f.read().split("\n")[:-1]
    assert "good" in vocab and "." in vocab and len(vocab) <= 198
    metrics = read_json(os.path.join(run, "metrics.json"))
    assert metrics["support"] == 6  # 10% of 60, stratified: 2 per class
    assert {"accuracy", "f1", "loss", "f1_neg", "f1_neu", "f1_pos"} <= set(
        metrics)
    rows = history(run)
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["loss"]) < float(rows[0]["loss"])
    with open(os.path.join(run, "training_curve.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert f"Run directory: {run}" in trained_run.output


def test_evaluate_json_matches_metrics_json_on_the_held_back_data(
        trained_run, loaded_run, cli, helpers, tmp_path):
    task = loaded_run[0]
    train, valid = task.split_validation(
        [{"text": t, "label": y} for t, y in trained_run.pairs], 0.1, 1337)
    data = helpers.write_table(tmp_path / "valid.tsv",
                               [(e["text"], e["label"]) for e in valid])
    result = cli("evaluate", trained_run.run_dir, "--data", data, "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    saved = read_json(os.path.join(trained_run.run_dir, "metrics.json"))
    assert metrics.keys() == saved.keys()
    for key in saved:
        assert metrics[key] == pytest.approx(saved[key], abs=1e-6), key


def test_evaluate_text_output_on_all_data(trained_run, cli):
    result = cli("evaluate", trained_run.run_dir, "--data", trained_run.data)
    assert result.exit_code == 0, result.output
    lines = dict(line.split() for line in result.stdout.splitlines())
    assert lines["support"] == "60"
    assert 0.0 <= float(lines["accuracy"]) <= 1.0


def test_predict_arguments_file_and_stdin_agree(trained_run, cli, tmp_path):
    texts = ["A great and lovely film.", "Boring, awful, dull plot.",
             "An okay, average story " * 10]
    by_args = cli("predict", trained_run.run_dir, *texts)
    assert by_args.exit_code == 0, by_args.output
    lines = by_args.stdout.splitlines()
    assert len(lines) == 3
    for line, text in zip(lines, texts):
        label, score, shown = line.split("\t")
        assert label in ("neg", "neu", "pos")
        assert 1 / 3 <= float(score) <= 1.0
        assert shown == (text if len(text) <= 70 else text[:67] + "...")
    path = tmp_path / "inputs.txt"
    path.write_text("\n".join([texts[0], "", texts[1], "   ", texts[2]])
                    + "\n", encoding="utf-8")
    by_file = cli("predict", trained_run.run_dir, "--file", str(path))
    assert by_file.exit_code == 0, by_file.output
    # Blank lines keep their place as empty lines (the output lines up).
    assert by_file.stdout.splitlines() == [lines[0], "", lines[1], "",
                                           lines[2]]
    by_stdin = cli("predict", trained_run.run_dir,
                   input="\n".join(texts) + "\n")
    assert by_stdin.exit_code == 0, by_stdin.output
    assert by_stdin.stdout == by_args.stdout


def test_predict_json_format(trained_run, cli):
    texts = ["Superb, brilliant!", "terrible \u00e9t\u00e9 film"]
    result = cli("predict", trained_run.run_dir, *texts, "--format", "json")
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert [a["input"] for a in answers] == texts
    for a in answers:
        probs = a["probabilities"]
        assert list(probs) == ["neg", "neu", "pos"]
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)
        assert a["label"] == max(probs, key=probs.get)
        assert a["score"] == pytest.approx(probs[a["label"]])


def test_predict_without_input_is_a_usage_error(trained_run, cli):
    result = cli("predict", trained_run.run_dir, input="\n  \n")
    assert result.exit_code == 2
    assert "no input" in result.output


def test_export_writes_and_refuses_to_overwrite(trained_run, exported_run,
                                               cli, helpers, tmp_path):
    assert os.path.isfile(os.path.join(exported_run, "saved_model.pb"))
    out = str(tmp_path / "exported")
    shutil.copytree(exported_run, out)
    before = snapshot(out)
    again = cli("export", trained_run.run_dir, "--output", out)
    helpers.assert_one_line_error(again, f"{out}: already exists. Use "
                                  "--overwrite.")
    assert snapshot(out) == before
    with open(os.path.join(out, "stale.txt"), "w") as f:
        f.write("from before")
    forced = cli("export", trained_run.run_dir, "--output", out,
                 "--overwrite")
    assert forced.exit_code == 0, forced.output
    assert os.path.isfile(os.path.join(out, "saved_model.pb"))
    assert not os.path.exists(os.path.join(out, "stale.txt"))
    assert not os.path.exists(out + ".tmp-export")


def test_export_over_an_existing_file(trained_run, cli, helpers, tmp_path):
    out = tmp_path / "model.bin"
    out.write_text("not a SavedModel")
    result = cli("export", trained_run.run_dir, "--output", str(out),
                 "--overwrite")
    assert result.exit_code == 0, result.output
    assert result.exception is None, repr(result.exception)
    assert not os.path.exists(str(out) + ".tmp-export")
    assert os.path.isfile(os.path.join(out, "saved_model.pb"))


# ------------------------------------------- overwrite and reproducibility


def test_existing_run_is_kept_without_overwrite_and_retrained_with_it(
        trained_run, cli, helpers, tmp_path):
    """Same seed, same data, same options: identical metrics and weights."""
    import keras

    import kerasnlp_seq.layers  # noqa: F401  (registers custom layers)

    run = str(tmp_path / "run")
    shutil.copytree(trained_run.run_dir, run)
    with open(os.path.join(run, "marker.txt"), "w") as f:
        f.write("old run")
    before = snapshot(run)
    args = [a if a != trained_run.run_dir else run for a in trained_run.args]
    refused = cli(*args)
    helpers.assert_one_line_error(
        refused, f"{run}: already exists. Use --overwrite")
    assert snapshot(run) == before

    result = cli(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert not os.path.exists(os.path.join(run, "marker.txt"))
    assert read_json(os.path.join(run, "metrics.json")) == read_json(
        os.path.join(trained_run.run_dir, "metrics.json"))
    old = keras.saving.load_model(
        os.path.join(trained_run.run_dir, "model.keras"))
    new = keras.saving.load_model(os.path.join(run, "model.keras"))
    for a, b in zip(old.get_weights(), new.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    loss = [r["loss"] for r in history(run)]
    assert loss == [r["loss"] for r in history(trained_run.run_dir)]


# --------------------------------------------------------- interrupt, resume


def test_interrupted_run_resumes_to_completion(cli, helpers, tmp_path,
                                               monkeypatch):
    """Binary, integer labels, gzip CSV with custom columns; resumed."""
    pairs = helpers.make_texts(40, classes=("0", "1"), seed=3)
    data = helpers.write_table(tmp_path / "reviews.csv.gz", pairs,
                               columns=("review", "stars"))
    run = str(tmp_path / "run")
    args = ["train", "sentiment", "--data", data, "--output", run,
            "--text-column", "review", "--label-column", "stars",
            *helpers.TINIER, "--epochs", "2"]
    with helpers.interrupted_training(monkeypatch):
        interrupted = cli(*args)
    helpers.assert_one_line_error(
        interrupted, f"{run}: training interrupted",
        f"`--resume --output {run}`")
    assert read_json(os.path.join(run, "config.json"))["status"] == "training"
    assert os.path.isdir(os.path.join(run, "backup"))
    assert [r["epoch"] for r in history(run)] == ["0"]
    unfinished = cli("predict", run, "some text")
    helpers.assert_one_line_error(unfinished, "training did not finish",
                                  "--resume")

    resumed = cli("train", "sentiment", "--output", run, "--resume",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    config = read_json(os.path.join(run, "config.json"))
    assert config["status"] == "complete"
    assert config["task_config"]["text_column"] == "review"
    rows = history(run)
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert not os.path.exists(os.path.join(run, "backup"))
    assert read_json(os.path.join(run, "labels.json")) == ["0", "1"]
    answers = json.loads(cli("predict", run, "good great superb", "bad",
                             "--format", "json").stdout)
    assert [sorted(a["probabilities"]) for a in answers] == [["0", "1"]] * 2
    assert all(a["label"] in ("0", "1") for a in answers)
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--output", run, "--resume"),
        f"{run}: this run is already complete.")


def test_interrupt_after_training_resumes_without_training_again(
        cli, helpers, tmp_path, monkeypatch):
    """Ctrl-C while the results are written (the backup is gone by then)."""
    import keras

    from tasks.sentiment import SentimentTask

    original_export = SentimentTask.export

    def interrupted_export(self, model, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(SentimentTask, "export", interrupted_export)
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        40, classes=("neg", "pos"), seed=4))
    run = str(tmp_path / "run")
    interrupted = cli("train", "sentiment", "--data", data, "--output", run,
                      *helpers.TINIER, "--epochs", "2")
    helpers.assert_one_line_error(
        interrupted, f"{run}: interrupted after training",
        f"`--resume --output {run}` finishes the run without training again")
    assert read_json(os.path.join(run, "config.json"))["status"] == "fitted"
    rows = history(run)
    assert [r["epoch"] for r in rows] == ["0", "1"]
    weights = keras.saving.load_model(
        os.path.join(run, "model.keras")).get_weights()

    monkeypatch.setattr(SentimentTask, "export", original_export)

    def no_fit(*args, **kwargs):
        raise AssertionError("fit called on resume after training")

    monkeypatch.setattr(keras.Model, "fit", no_fit)
    resumed = cli("train", "sentiment", "--output", run, "--resume",
                  "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert "training had finished" in resumed.output
    assert read_json(os.path.join(run, "config.json"))["status"] == "complete"
    assert history(run) == rows
    assert os.path.isfile(os.path.join(run, "saved_model", "saved_model.pb"))
    assert os.path.isfile(os.path.join(run, "metrics.json"))
    for a, b in zip(weights, keras.saving.load_model(
            os.path.join(run, "model.keras")).get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert cli("predict", run, "good").exit_code == 0


def test_notes_from_reading_the_data_reach_train_log_and_stderr_once(
        cli, helpers, tmp_path, monkeypatch):
    # Reading and adapting happen before the run directory exists (bad
    # data leaves nothing behind); what they log is kept for train.log.
    import logging

    from tasks.sentiment import SentimentTask

    original_adapt = SentimentTask.adapt

    def adapt(self, examples):
        logging.getLogger("kerasnlp_seq").warning("data.tsv: note A")
        logging.getLogger("kerasnlp_seq").info("vocabulary note B")
        return original_adapt(self, examples)

    monkeypatch.setattr(SentimentTask, "adapt", adapt)
    data = helpers.write_table(tmp_path / "data.tsv", helpers.make_texts(
        30, classes=("neg", "pos")))
    run = str(tmp_path / "run")
    result = cli("train", "sentiment", "--data", data, "--output", run,
                 *helpers.TINIER)
    assert result.exit_code == 0, result.output
    with open(os.path.join(run, "train.log"), encoding="utf-8") as f:
        train_log = f.read()
    assert "data.tsv: note A" in train_log
    assert "vocabulary note B" in train_log
    assert train_log.index("note A") < train_log.index("cudnn")
    assert result.stderr.count("data.tsv: note A") == 1
    assert "vocabulary note B" not in result.output


def test_overwrite_replaces_only_a_run(cli, helpers, tmp_path):
    data_dir = tmp_path / "project"
    data_dir.mkdir()
    data = helpers.write_table(data_dir / "data.tsv", helpers.make_texts(
        30, classes=("neg", "pos")))
    (data_dir / "notes.txt").write_text("keep me")
    before = snapshot(str(data_dir))
    args = ["train", "sentiment", "--data", data, *helpers.TINIER,
            "--overwrite"]
    # The data inside the output: refused before anything is read.
    helpers.assert_one_line_error(
        cli(*args, "--output", str(data_dir)),
        f"{data_dir}: holds the data ({data}); --overwrite would delete it")
    assert snapshot(str(data_dir)) == before
    # Some other non-empty folder, or a file: not a run, refused.
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("months of work")
    helpers.assert_one_line_error(
        cli(*args, "--output", str(other)),
        f"{other}: not a run directory",
        "--overwrite replaces only a previous run")
    assert (other / "thesis.tex").read_text() == "months of work"
    # An empty folder is fine, as is a previous run.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(*args, "--output", str(empty)).exit_code == 0
    assert cli(*args, "--output", str(empty)).exit_code == 0


def test_export_overwrite_refuses_a_folder_that_is_no_export(
        trained_run, cli, helpers, tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run.run_dir, run)
    before = snapshot(run)
    helpers.assert_one_line_error(
        cli("export", run, "--output", run, "--overwrite"),
        f"{run}: not a SavedModel directory (no saved_model.pb)")
    assert snapshot(run) == before


def test_a_damaged_model_file_is_a_one_line_error(trained_run, cli, helpers,
                                                  tmp_path):
    run = str(tmp_path / "run")
    shutil.copytree(trained_run.run_dir, run)
    with open(os.path.join(run, "model.keras"), "w") as f:
        f.write("junk")
    path = os.path.join(run, "model.keras")
    helpers.assert_one_line_error(
        cli("predict", run, "some text"),
        f"{path}: cannot load the model (", "the file is damaged")


def test_attention_plot_into_a_missing_folder_fails_before_any_work(
        trained_run, cli, helpers, tmp_path):
    plot = str(tmp_path / "no" / "such" / "plot.png")
    helpers.assert_one_line_error(
        cli("predict", trained_run.run_dir, "some text",
            "--attention-plot", plot),
        f"{plot}: cannot write the attention plot: no folder")


def test_predict_output_lines_up_with_blank_input_lines(trained_run, cli,
                                                        tmp_path):
    path = tmp_path / "inputs.txt"
    path.write_text("good great\n\n   \nbad awful\n", encoding="utf-8")
    text = cli("predict", trained_run.run_dir, "--file", str(path))
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert len(lines) == 4 and lines[1] == lines[2] == ""
    assert lines[0] and lines[3]
    records = json.loads(cli("predict", trained_run.run_dir, "--file",
                             str(path), "--format", "json").stdout)
    assert [r["input"] for r in records] == ["good great", "", "   ",
                                             "bad awful"]
    assert records[1] == {"input": "", "skipped": "empty input"}
    assert "label" in records[0] and "label" in records[3]


def test_resume_refuses_options_that_would_change_the_run(cli, helpers,
                                                          tmp_path):
    run = str(tmp_path / "run")
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--output", run, "--resume", "--units",
            "20", "--epochs", "6"),
        "--resume continues the run as it was started; --units, --epochs "
        "cannot change it", exit_code=2)
    assert not os.path.exists(run)


def test_valid_fraction_zero_without_a_valid_file(bad_train, helpers,
                                                 tmp_path):
    data = helpers.write_table(tmp_path / "d.tsv", helpers.make_texts(
        30, classes=("neg", "pos")))
    bad_train(data, "--valid-fraction 0 holds back nothing",
              "give --valid FILE", extra=["--valid-fraction", "0"])


def test_too_little_data_is_a_one_line_error(bad_train, helpers, tmp_path):
    two = helpers.write_table(tmp_path / "two.tsv",
                              [("good film", "pos"), ("bad film", "neg")])
    bad_train(two, f"{two}: too little data: 2 training and 0 validation "
              "examples", "or a --valid file")


def test_resume_without_a_run(cli, helpers, tmp_path):
    out = str(tmp_path / "none")
    helpers.assert_one_line_error(
        cli("train", "sentiment", "--output", out, "--resume"),
        f"{out}: nothing to resume")
    assert not os.path.exists(out)


# -------------------------------------------------------------- bad input


@pytest.fixture
def bad_train(cli, helpers, tmp_path):
    """Train on `data` (extra flags allowed); check the one-line failure."""

    def run(data, *fragments, extra=()):
        out = str(tmp_path / "run_out")
        result = cli("train", "sentiment", "--data", data, "--output", out,
                     *helpers.TINIER, *extra)
        line = helpers.assert_one_line_error(result, *fragments)
        assert not os.path.exists(out), "a run directory was created"
        return line

    return run


def test_bad_input_missing_file(bad_train, tmp_path):
    path = str(tmp_path / "nope.tsv")
    bad_train(path, f"Error: {path}: file not found.")


def test_bad_input_empty_file(bad_train, tmp_path):
    path = tmp_path / "empty.tsv"
    path.write_text("")
    bad_train(str(path), f"{path}: ", "empty")


def test_bad_input_missing_column(bad_train, helpers, tmp_path):
    path = helpers.write_table(tmp_path / "d.tsv", helpers.make_texts(10))
    bad_train(path, f"{path}:1: no column 'review'", "['text', 'label']",
              extra=["--text-column", "review"])


def test_bad_input_wrong_number_of_fields(bad_train, tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("text\tlabel\ngood\tpos\nbad\tneg\n"
                    "has\ta tab\tneg\nfine\tpos\n")
    bad_train(str(path), f"{path}:4: expected 2 tab-separated fields, "
              "found 3.")


def test_bad_input_wrong_fields_after_multiline_csv_field(bad_train,
                                                          tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"a review\nover three\nlines",pos\n'
                    'fine,neg\nno label here\nok,pos\n')
    bad_train(str(path), f"{path}:6: expected 2 comma-separated fields, "
              "found 1.")


def test_bad_input_undecodable_bytes(bad_train, tmp_path):
    path = tmp_path / "d.tsv"
    path.write_bytes(b"text\tlabel\ngood\tpos\nbad\tneg\ncaf\xe9\tneg\n")
    bad_train(str(path), f"{path}:4: bytes that are not UTF-8", "UTF-8")


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_predict_input_that_is_not_utf8(trained_run, cli, helpers, tmp_path,
                                        source):
    path = tmp_path / "inputs.txt"
    path.write_bytes(b"good film\nbad \xff film\n")
    if source == "file":
        result = cli("predict", trained_run.run_dir, "--file", str(path))
        where = f"{path}:2"
    else:
        result = cli("predict", trained_run.run_dir,
                     input=path.read_bytes())
        where = "<stdin>:2"
    helpers.assert_one_line_error(
        result, f"{where}: bytes that are not UTF-8 at column 5")


def test_predict_inputs_from_arguments_and_a_file_or_an_empty_file(
        trained_run, cli, helpers, tmp_path):
    path = tmp_path / "inputs.txt"
    path.write_text("\n  \n", encoding="utf-8")
    helpers.assert_one_line_error(
        cli("predict", trained_run.run_dir, "nice", "--file", str(path)),
        "give inputs as arguments or with --file, not both", exit_code=2)
    helpers.assert_one_line_error(
        cli("predict", trained_run.run_dir, "--file", str(path)),
        f"no input: {path} has no non-blank line", exit_code=2)


def test_bad_input_empty_text(bad_train, tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("text\tlabel\ngood\tpos\n \tneg\n")
    bad_train(str(path), f"{path}:3: empty text (column 'text').")


def test_bad_input_single_class(bad_train, helpers, tmp_path):
    path = helpers.write_table(tmp_path / "d.tsv",
                               helpers.make_texts(12, classes=("pos",)))
    bad_train(path, f"{path}: only one class ['pos']", "at least two")


def test_bad_input_unknown_tfds_name(bad_train):
    bad_train("tfds:no_such_dataset_xyz", "tfds:no_such_dataset_xyz: "
              "unknown TFDS data set 'no_such_dataset_xyz'")


def test_bad_input_validation_label_unseen_in_training(bad_train, helpers,
                                                       tmp_path):
    data = helpers.write_table(tmp_path / "d.tsv", helpers.make_texts(12))
    valid = tmp_path / "v.tsv"
    valid.write_text("text\tlabel\ngood\tpos\nmeh\tmixed\n")
    bad_train(data, f"{valid}:3: label 'mixed' was not seen in training",
              extra=["--valid", str(valid)])


def test_bad_input_out_of_range_option_and_bad_config_file(bad_train,
                                                           helpers,
                                                           tmp_path):
    data = helpers.write_table(tmp_path / "d.tsv", helpers.make_texts(12))
    bad_train(data, "`valid_fraction` of TrainConfig must be in [0.0, 1.0)",
              extra=["--valid-fraction", "1.5"])
    config = tmp_path / "c.json"
    config.write_text('{"units": 4,}')
    bad_train(data, f"{config}:1: invalid JSON",
              extra=["--config", str(config)])
    # A choice with None among its values (format) once crashed sorting.
    config.write_text('{"format": "xml"}')
    bad_train(data, "Unknown `format` for SentimentConfig",
              "Received: format='xml'", extra=["--config", str(config)])


@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_not_a_run_directory(cli, helpers, tmp_path, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = str(tmp_path / "missing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    a_file = tmp_path / "test.tsv"
    a_file.write_text("text\tlabel\n")
    extra = {"evaluate": ["--data", "x.tsv"], "predict": ["some text"],
             "export": ["--output", str(tmp_path / "sm")]}[command]
    for run, fragment in ((str(empty), "not a run directory (no config.json)"),
                          (missing, "run directory not found"),
                          (str(a_file), "a file, not a run directory"),
                          (str(broken), "invalid JSON")):
        result = cli(command, run, *extra)
        helpers.assert_one_line_error(result, run, fragment)
    assert not os.path.exists(tmp_path / "sm")


def test_evaluate_on_data_with_an_unknown_label(trained_run, cli, helpers,
                                                tmp_path):
    path = tmp_path / "e.tsv"
    path.write_text("text\tlabel\ngood\tpos\nfine\tgreat\n")
    helpers.assert_one_line_error(
        cli("evaluate", trained_run.run_dir, "--data", str(path)),
        f"{path}:3: label 'great' was not seen in training",
        "['neg', 'neu', 'pos']")
