"""The evaluate modules, installed as `journeydb.metrics` (see journeydb.metric_path); not imported."""
