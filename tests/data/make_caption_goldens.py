"""Regenerate tests/data/coco_caption_goldens.json with the real toolkit (Java + pycocoevalcap 1.2; not run by pytest).

    PYTHONPATH=. python tests/data/make_caption_goldens.py

For each corpus below this runs what `COCOEvalCap.evaluate()` runs: PTBTokenizer on the references and on the
predictions, then Bleu(4), Meteor(), Rouge() and Cider(). The toolkit's tokenizer writes a temporary file beside
itself, so its folder is copied to a temporary directory first; nothing is written to site-packages. Only inputs,
the tokenised texts and the scores are stored.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "benchmarks"))

from prompt_corpus import make_pairs  # noqa: E402


def corpora() -> dict[str, dict]:
    predictions, prompts = make_pairs(24, seed=3)
    long_reference = ", ".join(make_pairs(3, seed=4)[1])  # more than 64 tokens: ROUGE-L's multi-word path
    return {
        # aesthetics.md §5
        "golden_3_images": {
            "predictions": ["a cat on a red mat, cinematic light", "an oil painting portrait of an old man",
                            "futuristic neon city in the rain at night"],
            "references": [["A cute cat sitting on a red mat, cinematic lighting --ar 16:9"],
                           ["Portrait of an old man (oil painting), dramatic light"],
                           ["A futuristic city at night, neon lights, rain, 8k"]],
        },
        "captioning_multi_reference": {
            "predictions": ["a man riding a horse on a beach", "two dogs playing in the snow",
                            "a plate of food with broccoli", "a red double decker bus on a street",
                            "a kitchen with a stove and a fridge"],
            "references": [
                ["A man rides a brown horse along the beach.", "a person on horseback at the seaside",
                 "Man riding a horse near the ocean."],
                ["Two puppies play in deep snow.", "dogs running through a snowy field", "two dogs in the snow",
                 "A pair of dogs frolic in the snow."],
                ["A plate with broccoli, rice and chicken.", "food on a white plate"],
                ["A red double-decker bus drives down a city street.", "a bus in London",
                 "The big red bus is on the road.", "double decker bus", "A red bus."],
                ["A small kitchen with a white stove and refrigerator."],
            ],
        },
        "prompt_inversion_generated": {
            "predictions": predictions,
            "references": [[p] for p in prompts],
        },
        "edge_cases": {
            "predictions": ["", "cat cat cat cat", "a castle --ar 16:9 --v 5", long_reference[:200], "Don't panic!"],
            "references": [["an empty prediction scores zero"], ["a cat", "the cat"], ["a castle, --ar 16:9 --v 5"],
                           [long_reference], ["Don't panic: it's \"the end\" of the world..."]],
        },
    }


def _copy_module(folder: str, module: str, tmp: Path):
    spec = importlib.util.find_spec("pycocoevalcap")
    source = Path(next(iter(spec.submodule_search_locations))) / folder
    shutil.copytree(source, tmp / folder, ignore=shutil.ignore_patterns("__pycache__"))
    module_spec = importlib.util.spec_from_file_location(f"coco_{folder}", tmp / folder / f"{module}.py")
    loaded = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(loaded)
    return loaded


def main() -> None:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    out = {"about": "pycocoevalcap 1.2 with Java (PTBTokenizer, Bleu(4), Meteor 1.5, Rouge, Cider) on the corpora of "
                    "tests/data/make_caption_goldens.py; references tokenised as one corpus, predictions as another",
           "corpora": {}}
    with tempfile.TemporaryDirectory() as tmp:
        ptb = _copy_module("tokenizer", "ptbtokenizer", Path(tmp)).PTBTokenizer()
        meteor = _copy_module("meteor", "meteor", Path(tmp)).Meteor()
        for name, corpus in corpora().items():
            gts = {i: [{"caption": r} for r in refs] for i, refs in enumerate(corpus["references"])}
            res = {i: [{"caption": p}] for i, p in enumerate(corpus["predictions"])}
            gts, res = ptb.tokenize(gts), ptb.tokenize(res)
            scores = {}
            bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
            scores.update({f"bleu_{n + 1}": b for n, b in enumerate(bleu)})
            scores["meteor"] = meteor.compute_score(gts, res)[0]
            scores["rouge_l"] = float(Rouge().compute_score(gts, res)[0])
            scores["cider"] = float(Cider().compute_score(gts, res)[0])
            out["corpora"][name] = {
                **corpus,
                "tokenized_predictions": [res[i][0] for i in range(len(res))],
                "tokenized_references": [gts[i] for i in range(len(gts))],
                "scores": scores,
            }
        del meteor  # stops its Java process
    path = HERE / "coco_caption_goldens.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
