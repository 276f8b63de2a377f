"""Midjourney-like prompts and model-like predictions of them, drawn from one seeded RNG (benchmark input).

Prompts combine a subject, a setting, style phrases, artists, quality tags, `::` weights, brackets and Midjourney
parameters, with the spread of lengths and the phrase reuse of real prompt corpora; a "prediction" keeps part of
its prompt, rewords some of it, drops the parameters, and sometimes adds phrases of its own, like a prompt-inversion
model's output.
"""

from __future__ import annotations

import random

ADJECTIVES = (
    "ancient beautiful colorful cozy cute dark dramatic elegant enchanted epic ethereal fantastic fierce futuristic "
    "giant glowing gothic haunted intricate lonely lush majestic massive mechanical minimalist misty mysterious "
    "neon old ornate peaceful rainy retro rusty serene shiny small steampunk surreal tiny tranquil vibrant vintage "
    "whimsical wild wooden abandoned golden silver crystal floating frozen burning sacred cyberpunk"
).split()
NOUNS = (
    "cat dog fox owl dragon robot astronaut knight wizard witch samurai girl woman man child princess king queen "
    "castle city village forest mountain lighthouse cathedral temple spaceship car train ship tree flower garden "
    "library cafe street bridge island ocean river lake waterfall desert jungle planet moon tower house cottage "
    "portrait warrior elf goddess tiger wolf horse whale jellyfish mushroom book lantern clock"
).split()
ACTIONS = (
    "standing in|sitting on|walking through|flying over|floating above|reading in|dancing in|looking at|hiding in|"
    "sleeping on|running across|exploring|guarding|overlooking|emerging from"
).split("|")
PLACES = (
    "a misty forest|the rain|a neon city at night|a field of flowers|the clouds|an ancient temple|a snowy mountain|"
    "the ocean|a cozy library|outer space|a medieval village|a desert at sunset|a crowded market|an underwater city|"
    "a cyberpunk alley|the moonlight|a japanese garden|a victorian street|golden hour light|a foggy harbor"
).split("|")
STYLES = (
    "oil painting|watercolor|digital art|concept art|matte painting|pencil sketch|studio ghibli style|anime style|"
    "unreal engine|octane render|cinematic lighting|volumetric lighting|dramatic lighting|soft lighting|"
    "highly detailed|ultra detailed|intricate details|hyper-realistic|photorealistic|8k|4K UHD|sharp focus|"
    "depth of field|bokeh|35mm|f/1.8|film grain|trending on artstation|award winning|masterpiece|"
    "vibrant colors|pastel colors|muted tones|dark fantasy|art nouveau|art deco|ukiyo-e|low poly|isometric|"
    "pixel art|vaporwave|synthwave|baroque|impressionism|surrealism|minimalism|golden ratio|rule of thirds"
).split("|")
ARTISTS = (
    "Greg Rutkowski|Alphonse Mucha|Artgerm|Makoto Shinkai|Hayao Miyazaki|James Gurney|Thomas Kinkade|"
    "Wlop|Ross Tran|Beeple|Simon Stalenhag|Moebius|Zdzisław Beksiński|Claude Monet|Van Gogh|Rembrandt|"
    "Craig Mullins|Ilya Kuvshinov|Loish|Studio Ghibli|Tim Burton|H.R. Giger|Frank Frazetta|Syd Mead"
).split("|")
PARAMETERS = (
    "--ar 16:9|--ar 2:3|--ar 3:2|--ar 1:1|--v 5|--v 5.1|--v 4|--q 2|--s 750|--stylize 1000|--style raw|"
    "--chaos 20|--no text|--niji 5|--seed 12345|--tile|--uplight|--iw 1.5"
).split("|")
DIRT = (
    "(masterpiece)|[highly detailed]|{best quality}|::2|::-0.5|cat::2 dog::1|\"epic\"|it's magical|don't blur|"
    "café naïve|東京|🎨✨|...|--|U.S.A.|e.g. cinematic|Mr. Smith's house|1920s|50% off|#1|$10|@artist|"
    "https://s.mj.run/abc123XYZ|www.example.com/image.png|f/2.8, 1/200s|3.5 versus 3 . 5|rock 'n' roll"
).split("|")
SYNONYMS = {
    "beautiful": "pretty", "cute": "adorable", "giant": "huge", "tiny": "small", "ancient": "old", "city": "town",
    "forest": "woods", "castle": "palace", "woman": "lady", "man": "person", "dragon": "wyvern", "dark": "gloomy",
    "painting": "artwork", "lighting": "light", "detailed": "detail", "colorful": "vivid", "standing": "posing",
}


def _subject(rng: random.Random) -> str:
    adjectives = " ".join(rng.sample(ADJECTIVES, rng.choice((0, 1, 1, 2))))
    noun = rng.choice(NOUNS)
    head = f"a {adjectives} {noun}".replace("  ", " ")
    if rng.random() < 0.7:
        head += f" {rng.choice(ACTIONS)} {rng.choice(PLACES)}"
    return head


def make_prompt(rng: random.Random) -> str:
    """One Midjourney-like prompt."""
    parts = [_subject(rng)]
    if rng.random() < 0.3:
        parts.append(f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} in the background")
    parts.extend(rng.sample(STYLES, rng.randint(1, 7)))
    if rng.random() < 0.6:
        parts.append("by " + " and ".join(rng.sample(ARTISTS, rng.randint(1, 3))))
    if rng.random() < 0.35:
        parts.append(rng.choice(DIRT))
    text = ", ".join(parts)
    if rng.random() < 0.75:
        text += " " + " ".join(rng.sample(PARAMETERS, rng.randint(1, 4)))
    if rng.random() < 0.1:
        text = text[0].upper() + text[1:]
    return text


def make_prediction(prompt: str, rng: random.Random) -> str:
    """A model-like guess at `prompt`: parameters dropped, phrases dropped, reworded, reordered or added."""
    text = prompt.split(" --")[0]
    phrases = [p for p in text.split(", ") if rng.random() < 0.75] or [text.split(", ")[0]]
    if len(phrases) > 2 and rng.random() < 0.4:
        head, tail = phrases[:1], phrases[1:]
        rng.shuffle(tail)
        phrases = head + tail
    words = " ".join(phrases).split(" ")
    words = [SYNONYMS.get(w, w) if rng.random() < 0.5 else w for w in words]
    out = " ".join(words)
    phrases = out.split(", ") if ", " in out else [out]
    if rng.random() < 0.5:
        phrases = ", ".join(phrases).split(" ")
        out = " ".join(phrases)
    extra = rng.sample(STYLES, rng.randint(0, 3))
    return ", ".join([out] + extra) if extra else out


def make_pairs(num_pairs: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """`num_pairs` (prediction, prompt) pairs."""
    rng = random.Random(seed)
    prompts = [make_prompt(rng) for _ in range(num_pairs)]
    predictions = [make_prediction(p, rng) for p in prompts]
    return predictions, prompts
