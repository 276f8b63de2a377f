"""The BibTeX entry of the JourneyDB paper, shared by the builder, the dataset card and the metric modules."""

JOURNEYDB_CITATION = """\
@inproceedings{sun2023journeydb,
  title     = {JourneyDB: A Benchmark for Generative Image Understanding},
  author    = {Keqiang Sun and Junting Pan and Yuying Ge and Hao Li and Haodong Duan and Xiaoshi Wu and Renrui Zhang
               and Aojun Zhou and Zipeng Qin and Yi Wang and Jifeng Dai and Yu Qiao and Limin Wang and Hongsheng Li},
  booktitle = {Advances in Neural Information Processing Systems (Datasets and Benchmarks Track)},
  year      = {2023},
  eprint    = {2307.00716},
}
"""
