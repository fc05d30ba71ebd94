"""`kerasnlp-seq diagnose gradients`: on a trained run and on the probe."""

import json
import os


def test_a_run_is_measured_on_its_held_back_validation_part(
        trained_run, loaded_run, cli, tmp_path):
    from kerasnlp_seq import runs

    task, _, run_config = loaded_run
    assert run_config["valid"] is None  # validation was held back
    out = str(tmp_path / "grads")
    result = cli("diagnose", "gradients", trained_run.run_dir, "-o", out)
    assert result.exit_code == 0, result.output
    with open(out + ".json") as f:
        config = json.load(f)["config"]
    train = run_config["train_config"]
    held_back = task.split_validation(task.read(trained_run.data, "train"),
                                      train["valid_fraction"],
                                      train["seed"])[1]
    assert config["num_examples"] == min(64, len(held_back))
    assert config["data"] == (f"{trained_run.data} (validation part: "
                              f"{train['valid_fraction']})")
    for ext in ("csv", "json", "png"):
        assert os.path.exists(f"{out}.{ext}")
    # --data measures the data given.
    result = cli("diagnose", "gradients", trained_run.run_dir, "--data",
                 trained_run.data, "--num-examples", "5", "-o", out)
    assert result.exit_code == 0, result.output
    with open(out + ".json") as f:
        config = json.load(f)["config"]
    assert (config["data"], config["num_examples"]) == (trained_run.data, 5)
    assert runs.load_run(trained_run.run_dir)  # the run is untouched


def test_the_probe_compares_cells(cli, tmp_path):
    out = str(tmp_path / "probe")
    result = cli("diagnose", "gradients", "--compare", "simple_rnn,gru",
                 "--seq-len", "12", "--units", "4", "--num-examples", "8",
                 "-o", out)
    assert result.exit_code == 0, result.output
    with open(out + ".json") as f:
        cells = json.load(f)["cells"]
    assert sorted(cells) == ["gru", "simple_rnn"]
    assert all(len(c["input_grad_norms"]) == 12 for c in cells.values())


def test_bad_numbers_are_usage_errors(cli, tmp_path):
    for option in ("--num-examples", "--units"):
        result = cli("diagnose", "gradients", option, "0", "-o",
                     str(tmp_path / "x"))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert f"Invalid value for '{option}'" in result.output
