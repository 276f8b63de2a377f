"""Where the `evaluate` modules are: `evaluate.load(journeydb.metric_path("qas"))` from any install.

The modules live in the repository's `metrics/` folder, which setup.cfg installs as the package data
`journeydb.metrics` (each module's script, card and Space `app.py`), so a wheel or `pip install .` carries them and
an editable install points at the checkout's own folder; `evaluate.load("metrics/qas")` from a checkout still works.
"""

from __future__ import annotations

from importlib import resources

METRIC_NAMES = ("prompt_inversion", "style_recall", "mc_vqa_acc", "qas")


def metric_path(name: str) -> str:
    """The folder of the `evaluate` module `name` (one of `METRIC_NAMES`), for `evaluate.load`.

    Example:

    ```py
    >>> import evaluate, journeydb
    >>> accuracy = evaluate.load(journeydb.metric_path("mc_vqa_acc"))
    >>> accuracy.compute(predictions=["B"], references=["B"])["accuracy"]
    1.0

    ```
    """
    if name not in METRIC_NAMES:
        raise ValueError(f"unknown metric {name!r}; the journeydb metrics are {', '.join(METRIC_NAMES)}")
    folder = resources.files("journeydb.metrics") / name
    script = folder / f"{name}.py"
    if not script.is_file():
        raise FileNotFoundError(f"{script} is missing: this journeydb install lacks its metric modules (reinstall it)")
    return str(folder)
