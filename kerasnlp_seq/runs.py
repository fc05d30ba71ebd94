"""Training runs: a run directory from data, and everything done with one after.

The entry points of the toolkit, in one namespace (`from kerasnlp_seq
import runs`); the CLI is a thin layer over them, and scripts call them
directly. Each lives in the module of its idea:

- `resolve_config()`: a task's options from defaults, a `--config` JSON
  file and overrides; `data_notice()`: what such a file does not set
  (`kerasnlp_seq.config_file`).
- `train()`: data in, a complete run directory out
  (`kerasnlp_seq.training_run`).
- `load_run()`, `evaluate()`, `predict()`, `export()`: a finished run
  directory, used (`kerasnlp_seq.finished_run`).
- What a run directory holds, when one may be written or replaced, and
  what a `--resume` may not change (`resume_changes()`;
  `kerasnlp_seq.run_directory`).
"""

from kerasnlp_seq.config_file import (data_notice, read_config_file,
                                      resolve_config)
from kerasnlp_seq.finished_run import evaluate, export, load_run, predict
from kerasnlp_seq.run_directory import (CONFIG_FILE, METRICS_FILE, MODEL_FILE,
                                        resume_changes)
from kerasnlp_seq.training_run import count_examples, train

__all__ = ["CONFIG_FILE", "METRICS_FILE", "MODEL_FILE", "count_examples",
           "data_notice", "evaluate", "export", "load_run", "predict",
           "read_config_file", "resolve_config", "resume_changes", "train"]
