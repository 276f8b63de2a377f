"""JourneyDB tools: a `datasets` builder over the raw release, scoring functions, and the `journeydb` CLI."""

from .builder import JourneyDB, JourneyDBConfig, config_declarations, load
from .export import export_parquet
from .sample import sample_dir, write_sample_release

__version__ = "0.1.0"

__all__ = [
    "JourneyDB",
    "JourneyDBConfig",
    "config_declarations",
    "export_parquet",
    "load",
    "sample_dir",
    "write_sample_release",
]
