"""JourneyDB tools: a `datasets` builder over the raw release, scoring functions, and the `journeydb` CLI."""

__version__ = "0.1.0"  # the one place; setup.cfg reads it

from journeydb.builder.builder import JourneyDB, JourneyDBConfig, config_declarations, load
from journeydb.export.parquet import export_parquet
from journeydb.release.sample import sample_dir, write_sample_release

__all__ = [
    "JourneyDB",
    "JourneyDBConfig",
    "config_declarations",
    "export_parquet",
    "load",
    "sample_dir",
    "write_sample_release",
]
