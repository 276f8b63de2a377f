import journeydb


def test_vqa_validation_loads(mini_release, cache_dir):
    ds = journeydb.load("vqa", data_dir=str(mini_release), split="validation", cache_dir=cache_dir)
    assert len(ds) == 16
