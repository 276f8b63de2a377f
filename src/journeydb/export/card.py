"""The README.md of an exported folder: `dataset_card.md`'s metadata and prose, plus the YAML `datasets` reads.

`dataset_card.md` at the repository root is the single source of the card. The package ships it as
`journeydb/dataset_card.md` (in the repository a symlink to the root file, which setuptools resolves when it builds
a wheel; listed in `package_data`), and it is read with importlib.resources, so an installed copy finds it too.

What is generated: the YAML `configs:` (one glob of Parquet files per split) and `dataset_info:` (features from the
builder's declarations, split sizes from the export), merged into the card's own front matter; and a table of what
this export holds, put where the card has the `<!-- journeydb:export-summary -->` marker.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Optional, Sequence

import datasets
import yaml
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs

from journeydb.builder.builder import config_declarations

CARD_RESOURCE = "dataset_card.md"
SUMMARY_MARKER = "<!-- journeydb:export-summary -->"


@dataclass(frozen=True)
class SplitExport:
    """What an export holds for one split of one config."""

    config: str
    split: str
    num_examples: int
    num_bytes: int  # Arrow bytes of the rows, as `datasets` counts `num_bytes`
    files: tuple[str, ...]  # Parquet files, relative POSIX paths inside the export folder
    download_size: int  # bytes of those files on disk


def data_files_pattern(config: str, split: str) -> str:
    """The `data_files` glob of a split, relative to the export folder."""
    return f"{config}/{split}/*.parquet"


def read_card_source() -> str:
    """The text of `dataset_card.md` as shipped with the package."""
    return resources.files("journeydb.export").joinpath(CARD_RESOURCE).read_text(encoding="utf-8")


def split_front_matter(text: str, source: str = CARD_RESOURCE) -> tuple[dict[str, Any], str]:
    """(YAML front matter, body) of a Markdown card that starts with a `---` block."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ValueError(f"{source}: a card must start with a '---' YAML block")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            metadata = yaml.safe_load("\n".join(lines[1:index])) or {}
            if not isinstance(metadata, dict):
                raise ValueError(f"{source}: the YAML block must be a mapping")
            return metadata, "\n".join(lines[index + 1 :])
    raise ValueError(f"{source}: the YAML block is not closed by '---'")


def render_readme(exports: Sequence[SplitExport], default_config: Optional[str] = None) -> str:
    """The README.md of an export folder holding `exports` (splits without rows are left out of the YAML).

    Args:
        exports (`Sequence[SplitExport]`): the splits of the folder, in the order the card should list them.
        default_config (`str`, *optional*): the config `load_dataset(folder)` picks without a name; must be one of
            the exported configs.
    """
    metadata, body = split_front_matter(read_card_source())
    if SUMMARY_MARKER not in body:
        raise ValueError(f"{CARD_RESOURCE}: the marker {SUMMARY_MARKER} is missing")
    declarations = config_declarations()
    by_config: dict[str, list[SplitExport]] = {}
    for export in exports:
        if export.num_examples:
            by_config.setdefault(export.config, []).append(export)
    if default_config is not None and default_config not in by_config:
        raise ValueError(f"default config {default_config!r} is not among the exported configs {sorted(by_config)}")

    metadata_configs, infos = {}, {}
    for config, splits in by_config.items():
        entry: dict[str, Any] = {
            "data_files": [{"split": s.split, "path": data_files_pattern(config, s.split)} for s in splits]
        }
        if config == default_config:
            entry["default"] = True
        metadata_configs[config] = entry
        split_dict = datasets.SplitDict()
        for s in splits:
            split_dict.add(datasets.SplitInfo(name=s.split, num_bytes=s.num_bytes, num_examples=s.num_examples))
        infos[config] = datasets.DatasetInfo(
            features=declarations[config].features,
            splits=split_dict,
            download_size=sum(s.download_size for s in splits),
            dataset_size=sum(s.num_bytes for s in splits),
        )
    card_data = dict(metadata)  # the card's own keys first, in its order; datasets' writers only need a mapping
    MetadataConfigs(metadata_configs).to_dataset_card_data(card_data)  # type: ignore[arg-type]
    DatasetInfosDict(infos).to_dataset_card_data(card_data)  # type: ignore[arg-type]
    front_matter = yaml.safe_dump(card_data, sort_keys=False, allow_unicode=True, width=120)
    return f"---\n{front_matter}---\n{body.replace(SUMMARY_MARKER, _summary(exports))}"


def _summary(exports: Sequence[SplitExport]) -> str:
    lines = [
        "## This export",
        "",
        "| config | split | rows | Parquet files | size |",
        "|---|---|---|---|---|",
    ]
    for e in exports:
        note = "" if e.num_examples else " (no rows: left out of the configs)"
        lines.append(
            f"| `{e.config}` | {e.split} | {e.num_examples:,}{note} | {len(e.files)} | {_human_size(e.download_size)} |"
        )
    lines += ["", "Configurations described below that this table does not list are not in this export."]
    return "\n".join(lines)


def _human_size(num_bytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            return f"{num_bytes / scale:.1f} {unit}"
    return f"{num_bytes} B"
