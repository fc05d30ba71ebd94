"""Using a finished run: load it, evaluate it, predict with it, export it.

`load_run()` checks that a run directory holds a complete run and rebuilds
its task (config, vocabularies, labels) and model; `evaluate()`,
`predict()` and `export()` are the library calls behind the CLI commands of
the same names. A run's decoding settings (the task's `inference_options`)
may change for one use of it, without retraining (`options`).
"""

import os

from kerasnlp_seq import config as config_lib
from kerasnlp_seq import registry
from kerasnlp_seq.errors import RunError
from kerasnlp_seq.run_directory import CONFIG_FILE, MODEL_FILE, remove_path


def load_run(run_dir, options=None):
    """A finished run: `(task, model, run_config)`.

    Args:
        run_dir: str. A finished run directory.
        options: dict or None. Changes to the run's task config for this
            use of it, restricted to the task's `inference_options`
            (decoding settings): field names to values, or to strings as
            typed on the command line (`{"beam_width": "10"}`).
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.isfile(run_dir):
        raise RunError(f"{run_dir}: a file, not a run directory (the run "
                       "directory comes first, before any data or inputs).")
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: run directory not found.")
    if not os.path.exists(path):
        raise RunError(f"{run_dir}: not a run directory (no {CONFIG_FILE}).")
    run_config = config_lib.load_json(path)
    if not isinstance(run_config, dict) or "task" not in run_config:
        raise RunError(f"{path}: not a kerasnlp-seq run config.")
    if run_config.get("status") != "complete":
        raise RunError(
            f"{run_dir}: training did not finish (status "
            f"{run_config.get('status')!r}); resume it with --resume.")
    task_cls = registry.get_task_class(run_config["task"])
    config = config_lib.from_dict(
        task_cls.Config, run_config["task_config"], path)
    if options:
        config = _with_options(task_cls, config, options)
    task = task_cls(config)
    task.load_assets(run_dir)
    model_path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.exists(model_path):
        raise RunError(f"{run_dir}: no {MODEL_FILE} in the run directory.")
    return task, task.load_model(model_path), run_config


def _with_options(task_cls, config, options):
    """`config` with the inference `options` of `load_run` applied."""
    allowed = task_cls.inference_options
    values = config_lib.to_dict(config)
    options = config_lib.current_names(task_cls.Config, options, "--set")
    for name, value in options.items():
        if name not in allowed:
            can = (f"it can change {', '.join(allowed)}" if allowed
                   else "it has no options that can change after training")
            raise RunError(
                f"--set {name}: a {task_cls.name} run cannot change "
                f"{name!r} after training; {can}.")
        if isinstance(value, str):
            value = config_lib.parse_value(task_cls.Config, name, value)
        values[name] = value
    return config_lib.from_dict(task_cls.Config, values, "--set")


def evaluate(run_dir, data, options=None):
    """Metrics of a finished run on a data spec (`options`: `load_run`)."""
    task, model, _ = load_run(run_dir, options)
    examples = task.read(data, "eval")
    return task.evaluate(model, examples)


def predict(run_dir, inputs, attention_plot=None, options=None):
    """Readable answers of a finished run for raw inputs.

    A blank input (empty, or white space only) has no answer: None in its
    place, as the exported SavedModels give it an empty one (`serving.
    is_blank`) and the CLI a blank line.

    Args:
        run_dir: str. A finished run directory.
        inputs: iterable of raw inputs (texts, or image paths).
        attention_plot: str or None. Also draw the attention of the first
            input that is not blank into this PNG file (tasks whose models
            attend).
        options: dict or None. Settings to change (`load_run`).

    Returns:
        `(task, answers)`: one answer (or None) per input, in order.
    """
    inputs = list(inputs)
    if not inputs:
        raise RunError("predict: no inputs given.")
    given = [i for i, x in enumerate(inputs) if str(x).strip()]
    if not given:
        raise RunError("predict: every input is blank.")
    if attention_plot:  # before any work, so no answer is lost to it
        folder = os.path.dirname(os.path.abspath(attention_plot))
        if not os.path.isdir(folder):
            raise RunError(f"{attention_plot}: cannot write the attention "
                           f"plot: no folder {folder}.")
    task, model, _ = load_run(run_dir, options)
    answers = [None] * len(inputs)
    for i, answer in zip(given, task.predict(model,
                                             [inputs[i] for i in given])):
        answers[i] = answer
    if attention_plot:
        task.plot_attention(model, inputs[given[0]], attention_plot)
    return task, answers


def export(run_dir, output, overwrite=False, options=None):
    """Write a run's serving SavedModel to `output` (`options`: the
    decoding settings it serves with, as in `load_run`)."""
    if os.path.exists(output) and not overwrite:
        raise RunError(f"{output}: already exists. Use --overwrite.")
    if os.path.isdir(output) and os.listdir(output) and not os.path.exists(
            os.path.join(output, "saved_model.pb")):
        raise RunError(
            f"{output}: not a SavedModel directory (no saved_model.pb); "
            "--overwrite replaces only a previous export. Choose another "
            "--output.")
    task, model, _ = load_run(run_dir, options)
    tmp = output.rstrip("/") + ".tmp-export"
    remove_path(tmp)
    task.export(model, tmp)
    remove_path(output)
    os.replace(tmp, output)
    return output
