"""Pure-Python PTB tokenizer vs the toolkit's Java PTBTokenizer on generated Midjourney-like prompts.

Prints the exact-match rate of `tokenize_corpus(mode="python")` against `mode="java"` on N seeded prompts (plus
the hand-written edge cases), the disagreements (up to --show), and the speed ratio, both timed in this one run
(Java: one JVM for the whole corpus, start-up included, as pycocoevalcap runs it).

    python benchmarks/tokenizer.py --n 20000
    python benchmarks/tokenizer.py --n 200 --freeze tests/data/ptb_goldens.json   # regenerate the goldens (Java)
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from datasets.utils.logging import disable_progress_bar

from journeydb.scoring.tokenize import ptb_tokenize_java, tokenize_corpus

SUBJECTS = [
    "a cat", "A cute Cat", "an old man", "portrait of a woman", "a futuristic city", "the Eiffel Tower", "a dragon",
    "two kids playing", "a bowl of ramen", "an astronaut riding a horse", "Mt. Fuji", "St. Peter's Basilica",
    "a robot's hand", "Darth Vader", "a girl with a pearl earring", "New York City at night", "the U.S. flag",
    "a cyberpunk samurai", "an owl", "a steampunk airship", "Dr. Strange", "a 1920s car", "a '57 Chevy",
    "Pikachu", "a cozy cabin", "an elf queen", "a lighthouse", "McDonald's logo", "a dog", "the Mona Lisa",
    "a café in Paris", "Zoë's garden", "a naïve painter", "東京の街", "a São Paulo street", "Ångström lab",
    "a Jedi", "an F-16 jet", "a T-rex", "an iPhone 14 Pro", "Spider-Man", "a goldfish", "an AK-47",
]
STYLES = [
    "oil painting", "watercolor", "digital art", "concept art", "cinematic lighting", "volumetric light",
    "octane render", "unreal engine 5", "8k", "4K UHD", "ultra-detailed", "hyper-realistic", "photorealistic",
    "studio ghibli style", "art nouveau", "low-poly", "isometric", "matte painting", "trending on ArtStation",
    "award-winning", "HDR", "bokeh", "depth of field", "sharp focus", "highly detailed", "intricate details",
    "film grain", "35mm film", "Kodak Portra 400", "vaporwave", "synthwave", "pixel art", "ukiyo-e", "baroque",
    "black & white", "sci-fi", "rock'n'roll", "rococo", "anime", "3D render", "RTX on", "ray-tracing",
    "golden hour", "mid-century modern", "pop-art", "hand-drawn", "line art", "chiaroscuro",
]
ARTISTS = [
    "Greg Rutkowski", "Alphonse Mucha", "Hayao Miyazaki", "Wes Anderson", "H.R. Giger", "Van Gogh",
    "Salvador Dalí", "Moebius", "Beksiński", "J.M.W. Turner", "Frank Frazetta", "Artgerm", "WLOP",
    "Simon Stålenhag", "Yoji Shinkawa", "Annie Leibovitz", "Tim Burton", "M.C. Escher", "Claude Monet",
]
CAMERA = [
    "f/1.8", "f/2.8", "f/16", "35mm", "85mm lens", "1/200s", "1/1000 sec", "ISO 100", "ISO-400", "50mm f/1.4",
    "Canon EOS R5", "Nikon D850", "Sony A7R IV", "shot on iPhone", "24-70mm", "f1.4", "3.5", "100mm macro",
    "Hasselblad X1D-50c", "GoPro Hero 9", "tilt-shift", "long exposure 30s", "1.5x crop",
]
PARAMS = [
    "--ar 16:9", "--ar 3:2", "--ar 9:16", "--v 5", "--v 5.1", "--v 4", "--q 2", "--s 750", "--stylize 1000",
    "--chaos 50", "--no text", "--no people, cars", "--niji 5", "--style raw", "--tile", "--seed 12345",
    "--iw 0.5", "--uplight", "--hd", "--test", "--testp", "--upbeta", "--c 20", "--q .5", "--weird 250",
    "—ar 16:9", "– v 5", "--v5", "-- ar 2:1",
]
WEIGHTS = ["::2", "::-0.5", "::1.5", "::", "::0", ":: 3", "::-1", "::.5"]
PUNCT = [", ", ", ", ", ", "; ", ". ", " - ", " -- ", " — ", " – ", "... ", "! ", "? ", " | ", " / ", " + ", " & ",
         ": ", " ", " ", " "]
EXTRAS = [
    "https://s.mj.run/abc123XYZ", "http://example.com/img.png", "www.artstation.com", "example.org/path",
    "user@example.com", "#midjourney", "@artist_name", "50%", "$10", "€20", "£5", "100 %", "#1", "3/4 view",
    "1 1/2 inches", "½ body", "2:1", "(555) 123-4567", "12/25/2023", "1990s", "'90s", "90's", "C++", "C#",
    "e-mail", "U.S.A.", "etc.", "vs.", "e.g.", "i.e.", "a.k.a.", "Ph.D.", "Jr.", "No. 5", "fig. 3", "ca. 1900",
    ":)", ";-)", "^_^", "<3", "→", "★★★", "♥", "©", "®", "™", "°", "×2", "2x", "x2", "+1", "-5", "±3",
    "🐱", "🔥🔥", "👩‍🚀", "𝓯𝓪𝓷𝓬𝔂", "日本", "한국어", "Привет", "Ελλάδα", "عربى", "ñandú", "fiancée",
    "\"quoted\"", "'single'", "“smart”", "‘smart’", "«guillemets»", "„low quote“", "it's", "don't", "can't",
    "won't", "I'm", "you're", "we've", "they'll", "she'd", "y'all", "o'clock", "rock 'n' roll", "cannot",
    "gonna", "wanna", "gotta", "'tis", "'twas", "ain't", "isn't", "couldn't've", "(", ")", "[", "]", "{", "}",
    "<", ">", "<b>", "</i>", "<br/>", "&amp;", "&", "AT&T", "R&D", "&quot;", "*", "**bold**", "_under_", "~",
    "^", "=", "==", "->", "=>", "...", "…", "!!!", "?!", "¿", "¡", "\t", "  ", "a/b", "and/or", "w/o", "24/7",
    "3.14159", "1,000", "1.000.000", "10,5", "0.5x", ".5", "5.", "#FF0000", "0xFF", "v1.2.3", "file.png",
    "photo.jpg", "script.py", "readme.txt", "8K", "16K", "4k60fps", "1080p", "--", "---", "----", "-----",
    "A.", "I.", "Mr.", "Mrs. Smith", "St.", "Inc.", "Co. Ltd", "Corp.", "Calif.", "Jan.", "Feb. 2", "p.m.",
    "a.m.", "No.", "Lt.", "Gen. Patton", "Ave.", "U.K.", "N.Y.C.", "L.A.", "D.C.", "x-ray", "X-Men", "co-op",
    "re-entry", "self-portrait", "well-lit", "state-of-the-art", "pre-", "anti-", "-LRB-", "-lrb-", "'s",
    "n't", "cat's", "cats'", "James'", "Jones's", "\u00a0", "\u3000", "\u200b", "soft\u00adhyphen", "\u2028",
    "\r", "\u0085", "\x0c", "ﬁ", "Ⅳ", "²", "³", "¹", "₂", "H₂O", "x²", "m²", "km/h", "°C", "25°", "9:16",
    "16:9:", "::", ":::", "1:1", "(((masterpiece)))", "[[detailed]]", "{{{best quality}}}", "(word:1.2)",
    "<lora:xyz:0.8>", "[cat|dog]", "[cat:dog:0.5]", "best_quality", "ultra_hd", "n/a", "A/B", "$$$", "##",
    "@@", "__", "\\", "|", "¦", "§", "¶", "•", "·", "†", "‰", "′", "″", "‹", "›", "‚", "‛", "‟",
]
TEMPLATES = [
    "{s}{p}{st}{p}{st}{p}by {a} {prm}",
    "{s}{w} {s}{w}{p}{st} {prm} {prm}",
    "{s}, {x}, {st}, {c}, {c} {prm}",
    "{x} {s} {x}{p}{st}{p}{x}",
    "{S}{p}{st}{p}{a}{p}{c}{p}{x}{p}{prm}",
    "/imagine prompt: {s}{p}{st}{p}{x} {prm}",
    "{x}{x} {s} {x}{p}{x}",
    "{url} {s}{p}{st} {prm}",
    "{s} in the style of {a} and {a}{p}{st}{p}{c}{p}{c}",
    "{X}",
]


def generate_prompts(n: int, seed: int = 0) -> list[str]:
    """`n` varied Midjourney-like prompts built from realistic pieces (seeded: the same list for the same seed)."""
    rng = random.Random(seed)
    pieces = _Pieces(rng)
    prompts = []
    for _ in range(n):
        prompt = rng.choice(TEMPLATES).format_map(pieces)
        if rng.random() < 0.1:
            prompt = prompt.upper() if rng.random() < 0.5 else prompt.title()
        if rng.random() < 0.1:
            prompt = prompt.replace(" ", rng.choice(["  ", "\t", " \u00a0", ""]), rng.randint(1, 3))
        prompts.append(prompt)
    return prompts


class _Pieces(dict):
    """Template fields: every placeholder draws a fresh piece each time it is used."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def __getitem__(self, key: str) -> str:
        rng = self._rng
        if key == "S":
            return rng.choice(SUBJECTS).upper()
        if key == "url":
            return rng.choice(EXTRAS[:4])
        if key == "X":
            pools = (EXTRAS, PUNCT, STYLES, [" "])
            return "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(2, 8)))
        pools = {"s": SUBJECTS, "st": STYLES, "a": ARTISTS, "c": CAMERA, "prm": PARAMS, "w": WEIGHTS, "x": EXTRAS,
                 "p": PUNCT}
        return rng.choice(pools[key])


EDGE_CASES = [
    "A cat, sitting on a red mat -- cinematic lighting, 8k, ultra-detailed --ar 16:9 --v 5",
    "portrait of a woman (oil painting), by Greg Rutkowski; trending on ArtStation!",
    "Don't panic: it's \"the end\" of the world... isn't it?",
    "a dog's toy & a cat's bowl, 50% off, $10, #1 item, e-mail me at a@b.com",
    "[brackets] and {braces} <angle> cat::2 dog::-0.5",
    "hyper-realistic, 4K UHD, f/1.8, 35mm, 1/200s",
    "café naïve 東京 emoji 🐱 done",
    "3.5 versus 3 . 5 and U.S.A. and etc.",
    "", " ", "\t", ".", "...", ",,,", "!?", "-", "--", "---", "()", "[]", "{}", "''", "``", "\"\"",
    "a\t\tb   c", "line one\nline two", "carriage\rreturn", "crlf\r\nend", "para\u2028sep", "tab\tend\t",
    "I.", "It was I. The end", "U.S. The", "he lives in the U.S. He said", "Calif. Then", "etc. etc.", "A. B. C.",
    "cat::2 dog::-0.5 bird:: -1 fish ::3", "prompt --ar 16:9 --v 5 --q 2 --s 750 --no text, watermark",
    "https://s.mj.run/a1B2c3D4e5 a cat --ar 1:1", "see http://example.com/a_(b) now", "www.google.com/search?q=x",
    "mail me: First.Last@Example.co.uk!", "#art #digitalart @someone", "f/1.8 f/16 f1.4 1/200s 1/8000 ISO 100",
    "50% 100% $10 $ 10 €5 £3 ¥100 ¢50", "8k 4K 16k 1080p 60fps 2x 0.5x x2", "don't can't won't shan't y'all o'clock",
    "it's he's she'd we'll they're I'm you've", "'quoted' \"double\" “smart” ‘single’ «guillemet» „low“",
    "well-lit self-portrait state-of-the-art x-ray co-op re-entry", "em—dash en–dash hyphen-minus ‐ ‑ ―",
    "wait... what…? no!!! really?!", "Mr. Smith met Dr. Jones at St. Mary's Inc. on Jan. 5", "ca. 1900 fig. 3 No. 5",
    "a.k.a. e.g. i.e. Ph.D. vs. Jr.", "Zürich naïve façade Ελλάδα Привет 日本語 한국어 عربى हिन्दी",
    "emoji 🐱🔥 👩‍🚀 flags 🇯🇵 math 𝓯𝓪𝓷𝓬𝔂 𝐁𝐨𝐥𝐝", "AT&T R&D S&P 500 &amp; &quot;x&quot; &lt;b&gt;",
    "<b>bold</b> <br/> <img src='a.png'> <!-- c -->", ":) ;-) :D ^_^ <3 (^_^) =)", "-LRB- -lrb- -RRB- -LSB-",
    "C++ C# F# c++ .NET node.js script.py photo.JPG", "(((masterpiece))), [[best]], {{{quality}}}, (word:1.2)",
    "<lora:detail:0.8> [cat|dog] [cat:dog:0.5]", "1 1/2 ½ ¼ ¾ ⅓ ⅛ 3/4 view 24/7", "(555) 123-4567 +1 555 123 4567",
    "12/25/2023 2023-12-25 12.25.2023", "1,000,000 1.5 .5 5. 3.14159 -0.5 +3", "H₂O x² m² 25°C ±3 ×2 → ★",
    "cannot gonna wanna gotta gimme lemme 'tis 'twas", "soft\u00adhyphen nbsp\u00a0here ideo\u3000space zw\u200bsp",
    "'90s '57 Chevy 1990s 90's", "cats' toys James' hat Jones's car", "rock 'n' roll rock'n'roll n'importe",
    "___ *** ### @@@ ~~~ ^^^ === ||| \\\\ //", "A B C D E F", "ALL CAPS PROMPT, --AR 16:9 --V 5",
    "/imagine prompt: a cat --ar 16:9", "text in \"quotes\" and 'apostrophes' everywhere'", "end with I.",
    "\u0085ellipsis char \u2026 done", "control \x01\x02 chars \x7f del", "bom \ufeff here", "fullwidth ＡＢＣ！？",
    "Ⅳ ① ⑴ ⒜ ﬁ ﬂ", "dotless ı İstanbul ΣΊΣΥΦΟΣ ß straße", "\u0301combining e\u0301 n\u0303",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="generated prompts (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=10, help="disagreements to print")
    parser.add_argument("--freeze", type=Path, help="write input/output pairs produced by the jar to this JSON file")
    parser.add_argument("--freeze-n", type=int, default=300, help="generated prompts frozen next to the edge cases")
    args = parser.parse_args()
    disable_progress_bar()  # timings without tqdm

    prompts = EDGE_CASES + generate_prompts(args.n, args.seed)
    start = time.perf_counter()
    java = ptb_tokenize_java(prompts)
    java_s = time.perf_counter() - start
    start = time.perf_counter()
    python = tokenize_corpus(prompts, mode="python")
    python_s = time.perf_counter() - start

    bad = [i for i, (j, p) in enumerate(zip(java, python)) if j != p]
    for i in bad[: args.show]:
        print(f"DIFF {prompts[i]!r}\n  java:   {java[i]!r}\n  python: {python[i]!r}")
    if args.freeze is not None:
        frozen = EDGE_CASES + generate_prompts(args.freeze_n, seed=12345)
        # "output": the jar on the whole list (each caption has the next as right context, as in pycocoevalcap);
        # "alone": the jar on that caption alone (a one-line file, what `ptb_tokenize` reproduces)
        alone = [ptb_tokenize_java([text])[0] for text in frozen]
        pairs = [{"input": text, "output": out, "alone": one}
                 for text, out, one in zip(frozen, ptb_tokenize_java(frozen), alone)]
        args.freeze.write_text(json.dumps(pairs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"froze {len(pairs)} pairs into {args.freeze}")
    print(f"prompts: {len(prompts)} ({len(EDGE_CASES)} edge cases + {args.n} generated, seed {args.seed})")
    print(f"java_s: {java_s:.3f}  python_s: {python_s:.3f}")
    print(f"exact_match_rate: {1 - len(bad) / len(prompts):.6f} ({len(prompts) - len(bad)}/{len(prompts)})")
    print(f"python_speed_vs_java: {java_s / python_s:.3f}x")


if __name__ == "__main__":
    main()
