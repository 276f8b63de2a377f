"""`journeydb.register()`: `datasets.load_dataset("journeydb", config, data_dir=<raw release>)` without a copy.

`datasets` >= 4 loads no scripts, and a name that is neither a folder nor a Hub repository has no builder. This
module, and only this one, reaches into `datasets` internals: it wraps `datasets.load.dataset_module_factory` so
that the registered name resolves to the builder class `journeydb.JourneyDB` (with the cache hash `journeydb.load`
uses). Every other name goes to the original factory. Tested on the datasets version CI installs (5.2); if the
internals it needs are gone, `register()` fails naming the installed version and the supported routes.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

DEFAULT_NAME = "journeydb"
_BUILDER_MODULE = "journeydb.builder.builder"
_MARK = "_journeydb_names"


def _incompatible(version: str, why: str) -> RuntimeError:
    return RuntimeError(
        f"journeydb.register() does not work with datasets {version}: {why}. Load the raw release with "
        "journeydb.load(config, data_dir=...) (the same rows), or export a Parquet folder (journeydb export) "
        "that datasets.load_dataset reads by itself"
    )


def register(name: str = DEFAULT_NAME) -> None:
    """Make `datasets.load_dataset(name, config, data_dir=...)` build from the raw release (prepared or streaming),
    with the same rows as `journeydb.load`. Opt-in and idempotent; affects this process only."""
    import datasets
    import datasets.load as hf_load

    factory = getattr(hf_load, "dataset_module_factory", None)
    module_cls = getattr(hf_load, "DatasetModule", None)
    if factory is None or module_cls is None:
        raise _incompatible(datasets.__version__, "datasets.load has no dataset_module_factory / DatasetModule")
    fields = set(getattr(module_cls, "__dataclass_fields__", {}))
    if not {"module_path", "hash", "builder_kwargs"} <= fields or "path" not in inspect.signature(factory).parameters:
        raise _incompatible(datasets.__version__, "dataset_module_factory or DatasetModule changed shape")
    names = getattr(factory, _MARK, None)
    if names is not None:  # already wrapped: add the name
        names.add(name)
        return
    from journeydb.builder.builder import _code_hash

    wrapped: Callable[..., Any] = factory
    registered = {name}

    def dataset_module_factory(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and path in registered:
            return module_cls(module_path=_BUILDER_MODULE, hash=_code_hash(), builder_kwargs={})
        return wrapped(path, *args, **kwargs)

    setattr(dataset_module_factory, _MARK, registered)
    dataset_module_factory.__doc__ = wrapped.__doc__
    hf_load.dataset_module_factory = dataset_module_factory  # load_dataset_builder looks it up in this module
