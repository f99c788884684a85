#!/usr/bin/env python3
"""Generate the bundled synthetic demo benchmark of videorag_eval.

The demo is a tiny benchmark laid out exactly like a local copy of Video-MME, so the harness can run
end to end with no downloads.  Each short video combines three kinds of evidence, and every
question is answerable from exactly one of them (the ``source`` column):

* ``asr``  - a fact spoken by espeak-ng (real speech, transcribable by Whisper);
* ``ocr``  - a fact printed as large dark text on a white banner at the top or bottom of the frame;
* ``det``  - a count of solid coloured shapes (circles / squares) on a light grey background;
* ``none`` - a question about something never said, written or drawn (expected at chance level).

Output layout (``--out``, default ``tasks/demo/data``)::

    videomme/test-00000-of-00001.parquet   Video-MME columns + ``source``
    data/<videoID>.mp4                     H.264 480x270 @ 4 fps + AAC mono 22.05 kHz
    subtitle/<videoID>.srt                 Video-MME style cues of the spoken sentences
    manifest.json                          ground truth: speech, screen texts, objects (+ times, boxes)

Everything is deterministic: one fixed seed drives object placement, distractor numbers and the
answer-letter shuffle; the speech comes from espeak-ng with fixed voice and speed; ffmpeg is run
single-threaded with bit-exact flags.  Rules that the content obeys are checked by ``validate()``
before anything is written (see README.md next to this file).

Requirements: Python 3.10+, numpy, Pillow, pyarrow; system tools ``espeak-ng`` and ``ffmpeg``
(libx264 + aac); the DejaVu Sans Bold font (Debian package ``fonts-dejavu-core``).

Usage::

    python tasks/demo/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "data"

SEED = 20241118
WIDTH, HEIGHT, FPS = 480, 270, 4
AUDIO_RATE = 22050  # espeak-ng's native rate; kept as is (no resampling)
VOICE, SPEED = "en-us", 150  # espeak-ng -v VOICE -s SPEED (words per minute)
ASR_WINDOW = 30.0  # the harness cuts audio into 30 s windows: no sentence may straddle a boundary

BACKGROUND = (235, 235, 235)
PALETTE = {
    "red": (220, 30, 30),
    "green": (30, 170, 60),
    "blue": (30, 80, 220),
    "yellow": (240, 200, 20),
}
SHAPES = ("circle", "square")
SHAPE_SIZE = (24, 40)  # inclusive range of a shape's side / diameter, in pixels
SHAPE_GAP = 8  # minimum free pixels between two shapes

BANNER_H = 48  # white banner height; banners span the full width at the very top or bottom
BANNER_COLOUR = (255, 255, 255)
TEXT_COLOUR = (20, 20, 20)
FONT_SIZES = (28, 18)  # largest size tried first; shrunk until the text fits
OBJECT_ZONE = (BANNER_H + 10, HEIGHT - BANNER_H - 10)  # y range where shapes may be drawn

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/local/share/fonts/DejaVuSans-Bold.ttf",
)

SRT_FONT = '<font color="white" size=".72c">{}</font>'
LETTERS = "ABCD"

VIDEOMME_DOMAINS = {
    "Knowledge": {"Humanity & History", "Literature & Art", "Biology & Medicine", "Finance & Commerce",
                  "Astronomy", "Geography", "Law", "Life Tip", "Technology"},
    "Film & Television": {"Animation", "Movie & TV Show", "Documentary", "News Report"},
    "Sports Competition": {"Esports", "Basketball", "Football", "Athletics", "Other Sports"},
    "Artistic Performance": {"Stage Play", "Magic Show", "Variety Show", "Acrobatics"},
    "Life Record": {"Handicraft", "Food", "Fashion", "Daily Life", "Travel", "Pet & Animal", "Exercise"},
    "Multilingual": {"Multilingual"},
}
VIDEOMME_TASK_TYPES = {
    "Temporal Perception", "Spatial Perception", "Attribute Perception", "Action Recognition",
    "Object Recognition", "OCR Problems", "Counting Problem", "Temporal Reasoning", "Spatial Reasoning",
    "Action Reasoning", "Object Reasoning", "Information Synopsis",
}


# --------------------------------------------------------------------------------------------
# Content
# --------------------------------------------------------------------------------------------

@dataclass
class Q:
    source: str  # asr | ocr | det | none
    task_type: str
    question: str
    answer: str = ""  # for det: filled in from the object counts
    distractors: tuple[str, ...] = ()  # for det: drawn with the seeded generator
    kind: tuple[str, str] | None = None  # det only: (colour, shape) being counted


@dataclass
class Screen:
    text: str
    position: str  # top | bottom


@dataclass
class Spec:
    number: int
    domain: str
    sub_category: str
    duration: int  # seconds
    speech: list[str]
    screen: list[Screen]
    objects: list[tuple[str, str, int]]  # (colour, shape, count)
    questions: list[Q] = field(default_factory=list)

    @property
    def video_id(self) -> str:
        return f"{self.number:03d}"

    @property
    def video_name(self) -> str:
        return f"demo_{self.video_id}"


def det(colour: str, shape: str) -> Q:
    return Q("det", "Counting Problem", f"How many {colour} {shape}s appear in the video?", kind=(colour, shape))


SPECS: list[Spec] = [
    Spec(1, "Knowledge", "Humanity & History", 30,
         ["The museum tour starts at the harbour in Lisbon.",
          "Our guide for the morning is called Maria.",
          "Please stay together during the walk."],
         [Screen("LUNCH MENU: PANCAKES", "top"), Screen("GIFT SHOP CLOSED", "bottom")],
         [("red", "circle", 3), ("blue", "square", 2)],
         [Q("asr", "Information Synopsis",
            "According to the narrator, in which city does the museum tour start?",
            "Lisbon", ("Oslo", "Dublin", "Prague")),
          Q("asr", "Object Reasoning", "What is the name of the tour guide mentioned by the narrator?",
            "Maria", ("Sophie", "Emma", "Clara")),
          Q("ocr", "OCR Problems", "According to the sign shown in the video, what is on the lunch menu?",
            "Pancakes", ("Waffles", "Noodles", "Omelettes")),
          det("red", "circle")]),
    Spec(2, "Knowledge", "Geography", 36,
         ["This lake lies high in the mountains above the village.",
          "In winter the lake freezes and families go fishing on the ice.",
          "Most visitors arrive by train from Vienna."],
         [Screen("BOAT RENTAL: CANOES", "bottom")],
         [("green", "square", 4), ("yellow", "circle", 1)],
         [Q("asr", "Action Reasoning", "According to the narrator, what do families do on the frozen lake in winter?",
            "Fishing", ("Skating", "Swimming", "Sailing")),
          Q("asr", "Information Synopsis", "From which city do most visitors arrive, according to the narration?",
            "Vienna", ("Zurich", "Munich", "Milan")),
          Q("ocr", "OCR Problems", "According to the on-screen sign, what can be rented at the lake?",
            "Canoes", ("Bicycles", "Scooters", "Horses")),
          det("green", "square")]),
    Spec(3, "Life Record", "Food", 24,
         ["Today we are baking bread with honey and walnuts.",
          "The dough rests near the warm oven.",
          "Serve the warm bread with cheese."],
         [Screen("SPICE: CINNAMON", "top")],
         [("yellow", "circle", 5)],
         [Q("asr", "Object Recognition", "According to the narrator, which nuts are added to the bread?",
            "Walnuts", ("Almonds", "Peanuts", "Cashews")),
          Q("asr", "Object Reasoning", "What does the narrator suggest serving with the bread?",
            "Cheese", ("Butter", "Jam", "Olives")),
          Q("ocr", "OCR Problems", "According to the text on screen, which spice is used?",
            "Cinnamon", ("Vanilla", "Ginger", "Nutmeg")),
          det("yellow", "circle"),
          Q("none", "Information Synopsis", "Which country is the baker from?",
            "Poland", ("Italy", "Greece", "Norway"))]),
    Spec(4, "Sports Competition", "Basketball", 33,
         ["Tonight the home team is wearing purple shirts.",
          "Their captain is a tall young man called David.",
          "The crowd is cheering loudly."],
         [Screen("HOME TEAM: FALCONS", "top")],
         [("blue", "circle", 2), ("red", "square", 3)],
         [Q("asr", "Attribute Perception",
            "According to the commentator, what colour are the home team's shirts?",
            "Purple", ("Orange", "White", "Black")),
          Q("asr", "Object Recognition", "What is the name of the home team's captain?",
            "David", ("Thomas", "Victor", "Oliver")),
          Q("ocr", "OCR Problems", "According to the text shown on screen, what is the home team called?",
            "Falcons", ("Eagles", "Tigers", "Wolves")),
          det("red", "square")]),
    Spec(5, "Life Record", "Pet & Animal", 40,
         ["My cat sleeps on the sofa every afternoon.",
          "Her favourite toy is a small rubber duck.",
          "In the evening she watches birds from the window."],
         [Screen("CAT NAME: LUNA", "top"), Screen("VET VISIT: FRIDAY", "top")],
         [("green", "circle", 2), ("yellow", "square", 4)],
         [Q("asr", "Spatial Perception", "According to the narrator, where does the cat sleep in the afternoon?",
            "Sofa", ("Bed", "Carpet", "Basket")),
          Q("asr", "Object Recognition", "What is the cat's favourite toy?",
            "Duck", ("Mouse", "Ball", "Feather")),
          Q("ocr", "OCR Problems", "According to the on-screen text, what is the cat's name?",
            "Luna", ("Bella", "Misty", "Daisy")),
          Q("ocr", "OCR Problems", "According to the on-screen text, on which day is the vet visit?",
            "Friday", ("Monday", "Sunday", "Tuesday")),
          det("yellow", "square")]),
    Spec(6, "Film & Television", "News Report", 45,
         ["Good evening, here is the local news.",
          "A new bridge opened today across the river.",
          "The mayor arrived on a bicycle for the ceremony.",
          "Tomorrow will be sunny and warm."],
         [Screen("ALERT: TUNNEL CLOSED", "bottom")],
         [("blue", "square", 1), ("green", "circle", 3)],
         [Q("asr", "Information Synopsis", "According to the news report, what opened today?",
            "Bridge", ("Library", "Stadium", "Hospital")),
          Q("asr", "Action Recognition", "How did the mayor arrive at the ceremony?",
            "Bicycle", ("Horse", "Boat", "Scooter")),
          Q("ocr", "OCR Problems", "According to the on-screen banner, what is closed?",
            "Tunnel", ("Airport", "Station", "Highway")),
          det("green", "circle"),
          Q("none", "Object Recognition", "What is the name of the news presenter?",
            "Helen", ("Laura", "Julia", "Nora"))]),
    Spec(7, "Knowledge", "Technology", 50,
         ["This robot can sort letters in the post office.",
          "A small camera helps it read each address.",
          "The engineers built it in a garage in Seattle."],
         [Screen("POWER SOURCE: SOLAR", "bottom"), Screen("MODEL NAME: HERON", "top")],
         [("red", "circle", 4), ("green", "square", 2), ("yellow", "circle", 1)],
         [Q("asr", "Object Reasoning", "According to the narrator, what does the robot use to read addresses?",
            "Camera", ("Laser", "Scanner", "Magnet")),
          Q("asr", "Information Synopsis", "In which city did the engineers build the robot?",
            "Seattle", ("Boston", "Denver", "Chicago")),
          Q("ocr", "OCR Problems", "According to the on-screen text, what is the robot's power source?",
            "Solar", ("Diesel", "Coal", "Petrol")),
          Q("ocr", "OCR Problems", "What model name is shown on screen for the robot?",
            "Heron", ("Falcon", "Sparrow", "Pelican")),
          det("green", "square")]),
    Spec(8, "Life Record", "Travel", 55,
         ["We are taking the night train to Paris.",
          "I packed a warm scarf and a blue umbrella.",
          "Breakfast on the train includes fresh oranges."],
         [Screen("NEXT STOP: LYON", "top")],
         [("red", "square", 5), ("yellow", "circle", 2)],
         [Q("asr", "Information Synopsis", "According to the narrator, where is the night train going?",
            "Paris", ("Berlin", "Madrid", "Rome")),
          Q("asr", "Attribute Perception", "What colour is the narrator's umbrella?",
            "Blue", ("Green", "Black", "Purple")),
          Q("ocr", "OCR Problems", "According to the on-screen text, what is the next stop?",
            "Lyon", ("Geneva", "Milan", "Brussels")),
          det("red", "square")]),
    Spec(9, "Artistic Performance", "Magic Show", 28,
         ["The magician pulls a little rabbit from his top hat.",
          "Then he makes a silver coin disappear.",
          "The audience laughs and claps."],
         [Screen("STAGE NAME: MERLIN", "bottom")],
         [("blue", "circle", 4), ("yellow", "square", 3)],
         [Q("asr", "Object Recognition",
            "Which animal does the magician pull out of his hat, according to the narration?",
            "Rabbit", ("Pigeon", "Kitten", "Hamster")),
          Q("asr", "Object Reasoning", "According to the narration, what does the magician make disappear?",
            "Coin", ("Ring", "Watch", "Key")),
          Q("ocr", "OCR Problems", "What is the magician's stage name shown on screen?",
            "Merlin", ("Houdini", "Casper", "Felix")),
          det("blue", "circle"),
          Q("none", "Attribute Perception", "What colour is the magician's cape?",
            "Purple", ("Black", "Green", "Orange"))]),
    Spec(10, "Film & Television", "Documentary", 64,
         ["Penguins live on the cold coast of Antarctica.",
          "They dive deep into the sea to catch fish.",
          "The film crew camped beside a frozen waterfall.",
          "Their chicks stay close to their parents."],
         [Screen("FILMED IN WINTER", "bottom"), Screen("NARRATED BY OLIVIA", "bottom")],
         [("blue", "circle", 2), ("green", "square", 3), ("red", "square", 1)],
         [Q("asr", "Spatial Perception", "According to the documentary, where did the film crew camp?",
            "Waterfall", ("Glacier", "Volcano", "Lighthouse")),
          Q("ocr", "OCR Problems", "According to the on-screen text, in which season was the film made?",
            "Winter", ("Summer", "Spring", "Autumn")),
          Q("ocr", "OCR Problems", "Who narrated the documentary, according to the on-screen credits?",
            "Olivia", ("Hannah", "Chloe", "Rachel")),
          det("green", "square"),
          Q("none", "Object Recognition", "What is the name of the ship that brought the film crew?",
            "Aurora", ("Endeavour", "Voyager", "Horizon"))]),
]


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def words(text: str) -> set[str]:
    """Lower-case word set used by the 'occurs in a source' rules (digits count as words)."""
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def object_descriptions(spec: Spec) -> list[str]:
    return [f"{count} {colour} {shape}s" for colour, shape, count in spec.objects]


def find_font() -> Path:
    for cand in FONT_CANDIDATES:
        if Path(cand).is_file():
            return Path(cand)
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "DejaVu Sans:bold"], check=False, capture_output=True,
                             text=True)
        p = Path(out.stdout.strip())
        if p.name == "DejaVuSans-Bold.ttf" and p.is_file():
            return p
    sys.exit("error: DejaVu Sans Bold (DejaVuSans-Bold.ttf) not found; install it, e.g. "
             "`apt-get install fonts-dejavu-core`")


def require_tools() -> None:
    missing = [t for t in ("espeak-ng", "ffmpeg") if shutil.which(t) is None]
    if missing:
        sys.exit(f"error: missing system tool(s): {', '.join(missing)} (Debian: apt-get install {' '.join(missing)})")


def validate(specs: list[Spec]) -> None:
    """Check the content rules; raise ValueError listing every violation."""
    errors: list[str] = []
    seen = set()
    for s in specs:
        tag = s.video_name
        if s.video_name in seen:
            errors.append(f"{tag}: duplicate id")
        seen.add(s.video_name)
        if s.sub_category not in VIDEOMME_DOMAINS.get(s.domain, ()):
            errors.append(f"{tag}: {s.domain!r}/{s.sub_category!r} is not a Video-MME domain/sub-category")
        if not 20 <= s.duration <= 90:
            errors.append(f"{tag}: duration {s.duration} outside 20-90 s")
        if not 2 <= len(s.speech) <= 4:
            errors.append(f"{tag}: needs 2-4 spoken sentences")
        if not 1 <= len(s.screen) <= 2 or any(x.position not in ("top", "bottom") for x in s.screen):
            errors.append(f"{tag}: needs 1-2 screen texts")
        if not 1 <= len(s.objects) <= 3 or len({(c, sh) for c, sh, _ in s.objects}) != len(s.objects):
            errors.append(f"{tag}: needs 1-3 distinct object kinds")
        for c, sh, n in s.objects:
            if c not in PALETTE or sh not in SHAPES or not 1 <= n <= 5:
                errors.append(f"{tag}: bad object kind {(c, sh, n)}")
        src_words = {
            "asr": set().union(*(words(x) for x in s.speech)),
            "ocr": set().union(*(words(x.text) for x in s.screen)),
            "det": set().union(*(words(x) for x in object_descriptions(s))),
        }
        everything = set().union(*src_words.values())
        if any(ch.isdigit() for x in s.speech + [x.text for x in s.screen] for ch in x):
            errors.append(f"{tag}: digits are reserved for object counts")
        n_by = {k: sum(q.source == k for q in s.questions) for k in ("asr", "ocr", "det", "none")}
        if not (1 <= n_by["asr"] <= 2 and 1 <= n_by["ocr"] <= 2 and n_by["det"] == 1):
            errors.append(f"{tag}: per-source question counts {n_by}")
        for q in s.questions:
            if q.task_type not in VIDEOMME_TASK_TYPES:
                errors.append(f"{tag}: task_type {q.task_type!r}")
            opts = [q.answer, *q.distractors]
            if len(opts) != 4 or len({o.lower() for o in opts}) != 4:
                errors.append(f"{tag}: {q.question!r} needs 4 distinct options")
            for d in q.distractors:
                if words(d) & everything:
                    errors.append(f"{tag}: distractor {d!r} of {q.question!r} occurs in the video")
            aw = words(q.answer)
            if q.source == "none":
                if aw & everything:
                    errors.append(f"{tag}: answer {q.answer!r} of a 'none' question occurs in the video")
                continue
            for src, ws in src_words.items():
                present = aw <= ws
                if src == q.source and not present:
                    errors.append(f"{tag}: answer {q.answer!r} missing from its source {src}")
                if src != q.source and aw & ws:
                    errors.append(f"{tag}: answer {q.answer!r} also occurs in source {src}")
    n_none = sum(q.source == "none" for s in specs for q in s.questions)
    if len(specs) < 10 or sum(len(s.questions) for s in specs) < 32 or n_none != 4:
        errors.append("need >= 10 videos, >= 32 questions and exactly 4 'none' questions")
    if errors:
        raise ValueError("content rules violated:\n  " + "\n  ".join(errors))


# --------------------------------------------------------------------------------------------
# Planning (seeded): det distractors, answer letters, object boxes, timings
# --------------------------------------------------------------------------------------------

def fill_det(specs: list[Spec], rng: np.random.Generator) -> None:
    for s in specs:
        counts = {(c, sh): n for c, sh, n in s.objects}
        for q in s.questions:
            if q.source != "det":
                continue
            q.answer = str(counts[q.kind])
            pool = [n for n in range(1, 8) if n not in counts.values()]
            picked = sorted(int(x) for x in rng.choice(pool, size=3, replace=False))
            q.distractors = tuple(str(n) for n in picked)


def assign_letters(specs: list[Spec], rng: np.random.Generator) -> list[str]:
    """Balanced answer letters (counts differ by at most one), in a seeded random order."""
    n = sum(len(s.questions) for s in specs)
    letters = [LETTERS[i % 4] for i in range(n)]
    rng.shuffle(letters)
    return letters


def place_objects(spec: Spec, rng: np.random.Generator) -> list[dict]:
    """Non-overlapping boxes [x, y, w, h] inside the object zone (away from both banner zones)."""
    y0, y1 = OBJECT_ZONE
    placed: list[tuple[int, int, int, int]] = []
    out = []
    for colour, shape, count in spec.objects:
        boxes = []
        for _ in range(count):
            for _attempt in range(10000):
                size = int(rng.integers(SHAPE_SIZE[0], SHAPE_SIZE[1] + 1))
                x = int(rng.integers(10, WIDTH - 10 - size + 1))
                y = int(rng.integers(y0, y1 - size + 1))
                if all(x + size + SHAPE_GAP <= px or px + ps + SHAPE_GAP <= x or
                       y + size + SHAPE_GAP <= py or py + ps + SHAPE_GAP <= y for px, py, ps, _ in placed):
                    break
            else:
                raise RuntimeError(f"{spec.video_name}: could not place all shapes")
            placed.append((x, y, size, size))
            boxes.append([x, y, size, size])
        out.append({"colour": colour, "rgb": list(PALETTE[colour]), "shape": shape, "count": count,
                    "boxes": boxes, "start": 0.0, "end": float(spec.duration),
                    "description": f"{count} {colour} {shape}s"})
    return out


def screen_times(spec: Spec) -> list[tuple[float, float]]:
    """One text: the whole video. Two texts: first half, then second half (each >= max(10 s, D/3))."""
    d = float(spec.duration)
    if len(spec.screen) == 1:
        return [(0.0, d)]
    return [(0.0, d / 2), (d / 2, d)]


def speech_times(spec: Spec, lengths: list[float]) -> list[tuple[float, float]]:
    """Sentence i starts 1 s into slot i of n equal slots, pushed past any 30 s ASR window boundary."""
    d = float(spec.duration)
    slot = d / len(lengths)
    times = []
    for i, length in enumerate(lengths):
        start = round(i * slot + 1.0, 2)
        boundary = (start // ASR_WINDOW + 1) * ASR_WINDOW
        if start + length > boundary - 0.3:  # would straddle (or touch) a window boundary
            start = boundary + 0.5
        end = round(start + length, 3)
        limit = min((i + 1) * slot + 0.5, d - 0.5)  # keeps >= 0.5 s of pause before the next sentence
        if end > limit:
            raise RuntimeError(f"{spec.video_name}: sentence {i + 1} ({end:.2f} s) does not fit its slot")
        times.append((start, end))
    return times


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def speak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(SPEED), "-w", str(path), text], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with wave.open(str(path)) as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (AUDIO_RATE, 1, 2):
            raise RuntimeError(f"unexpected espeak-ng wav format in {path}")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def fit_font(font_path: Path, text: str) -> tuple[ImageFont.FreeTypeFont, int]:
    for size in range(FONT_SIZES[0], FONT_SIZES[1] - 1, -1):
        font = ImageFont.truetype(str(font_path), size)
        left, _, right, _ = font.getbbox(text)
        if right - left <= WIDTH - 40:
            return font, size
    raise ValueError(f"screen text too long for the banner: {text!r}")


def draw_banner(img: Image.Image, text: str, position: str, font_path: Path) -> list[int]:
    draw = ImageDraw.Draw(img)
    y0 = 0 if position == "top" else HEIGHT - BANNER_H
    draw.rectangle([0, y0, WIDTH - 1, y0 + BANNER_H - 1], fill=BANNER_COLOUR)
    font, _ = fit_font(font_path, text)
    left, top, right, bottom = font.getbbox(text)
    tx = (WIDTH - (right - left)) // 2 - left
    ty = y0 + (BANNER_H - (bottom - top)) // 2 - top
    draw.text((tx, ty), text, font=font, fill=TEXT_COLOUR)
    return [tx + left, ty + top, right - left, bottom - top]  # text box [x, y, w, h]


def base_frame(objects: list[dict]) -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(img)
    for obj in objects:
        colour = tuple(obj["rgb"])
        for x, y, w, h in obj["boxes"]:
            if obj["shape"] == "circle":
                draw.ellipse([x, y, x + w - 1, y + h - 1], fill=colour)
            else:
                draw.rectangle([x, y, x + w - 1, y + h - 1], fill=colour)
    return img


def srt_time(t: float) -> str:
    ms = round(t * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def write_srt(path: Path, speech: list[dict]) -> None:
    cues = [f"{i}\n{srt_time(c['start'])} --> {srt_time(c['end'])}\n{SRT_FONT.format(c['text'])}\n"
            for i, c in enumerate(speech, 1)]
    path.write_text("\n".join(cues) + "\n", encoding="utf-8")  # every cue ends with a blank line


def encode(frames: list[np.ndarray], audio: np.ndarray, out: Path, tmp: Path) -> None:
    wav = tmp / "audio.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(AUDIO_RATE)
        w.writeframes(audio.astype("<i2").tobytes())
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-fflags", "+bitexact",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-",
           "-i", str(wav),
           "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "-1",
           "-c:v", "libx264", "-preset", "medium", "-crf", "23", "-tune", "stillimage",
           "-pix_fmt", "yuv420p", "-g", str(10 * FPS), "-threads", "1", "-flags:v", "+bitexact",
           "-c:a", "aac", "-b:a", "32k", "-ac", "1", "-ar", str(AUDIO_RATE), "-flags:a", "+bitexact",
           "-movflags", "+faststart", str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for f in frames:
        proc.stdin.write(f.tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed for {out}")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def build(out_dir: Path) -> dict:
    require_tools()
    font_path = find_font()
    specs = SPECS
    rng = np.random.default_rng(SEED)
    fill_det(specs, rng)
    validate(specs)
    letters = assign_letters(specs, rng)

    for sub in ("videomme", "data", "subtitle"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    rows: dict[str, list] = {k: [] for k in ("video_id", "duration", "domain", "sub_category", "url", "videoID",
                                            "question_id", "task_type", "question", "options", "answer",
                                            "source")}
    manifest_videos = []
    k = 0
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        for s in specs:
            # speech
            clips = [speak(text, tmp / f"s{i}.wav") for i, text in enumerate(s.speech)]
            times = speech_times(s, [len(c) / AUDIO_RATE for c in clips])
            audio = np.zeros(int(s.duration * AUDIO_RATE), dtype=np.int16)
            speech = []
            for text, clip, (start, end) in zip(s.speech, clips, times):
                i0 = round(start * AUDIO_RATE)
                audio[i0:i0 + len(clip)] = clip
                speech.append({"text": text, "start": start, "end": end})
            # pictures
            objects = place_objects(s, rng)
            base = base_frame(objects)
            screen = []
            for sc, (start, end) in zip(s.screen, screen_times(s)):
                probe = base.copy()
                box = draw_banner(probe, sc.text, sc.position, font_path)
                screen.append({"text": sc.text, "start": start, "end": end, "position": sc.position,
                               "banner_box": [0, 0 if sc.position == "top" else HEIGHT - BANNER_H,
                                              WIDTH, BANNER_H],
                               "text_box": box, "font_size": fit_font(font_path, sc.text)[1]})
            cache: dict[tuple, np.ndarray] = {}
            frames = []
            for i in range(s.duration * FPS):
                t = i / FPS
                active = tuple(j for j, sc in enumerate(screen) if sc["start"] <= t < sc["end"])
                if active not in cache:
                    img = base.copy()
                    for j in active:
                        draw_banner(img, screen[j]["text"], screen[j]["position"], font_path)
                    cache[active] = np.asarray(img, dtype=np.uint8)
                frames.append(cache[active])
            encode(frames, audio, out_dir / "data" / f"{s.video_name}.mp4", tmp)
            write_srt(out_dir / "subtitle" / f"{s.video_name}.srt", speech)

            questions = []
            for n, q in enumerate(s.questions, 1):
                letter = letters[k]
                k += 1
                distractors = list(q.distractors)
                order = rng.permutation(len(distractors))
                distractors = [distractors[int(j)] for j in order]
                opts = distractors[:]
                opts.insert(LETTERS.index(letter), q.answer)
                options = [f"{LETTERS[j]}. {o}" for j, o in enumerate(opts)]
                qid = f"{s.video_id}-{n}"
                for col, val in (("video_id", s.video_id), ("duration", "short"), ("domain", s.domain),
                                 ("sub_category", s.sub_category), ("url", f"synthetic://demo/{s.video_id}"),
                                 ("videoID", s.video_name), ("question_id", qid), ("task_type", q.task_type),
                                 ("question", q.question), ("options", options), ("answer", letter),
                                 ("source", q.source)):
                    rows[col].append(val)
                questions.append({"question_id": qid, "source": q.source, "answer": letter,
                                  "answer_text": q.answer})
            manifest_videos.append({
                "videoID": s.video_name, "video_id": s.video_id, "duration": float(s.duration),
                "domain": s.domain, "sub_category": s.sub_category,
                "file": f"data/{s.video_name}.mp4", "subtitle": f"subtitle/{s.video_name}.srt",
                "speech": speech, "screen_text": screen, "objects": objects, "questions": questions,
            })
            print(f"{s.video_name}: {s.duration} s, {len(s.questions)} questions", flush=True)

    write_parquet(rows, out_dir / "videomme" / "test-00000-of-00001.parquet")
    manifest = {
        "description": "Ground truth of the synthetic demo benchmark (generated by tasks/demo/generate.py).",
        "seed": SEED, "width": WIDTH, "height": HEIGHT, "fps": FPS, "audio_rate": AUDIO_RATE,
        "voice": VOICE, "speed_wpm": SPEED, "background": list(BACKGROUND),
        "palette": {k: list(v) for k, v in PALETTE.items()},
        "box_format": "[x, y, w, h] in pixels, top-left origin",
        "times": "seconds; an item is visible/audible for start <= t < end",
        "videos": manifest_videos,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def write_parquet(rows: dict[str, list], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.list_(pa.string()) if name == "options" else pa.string()) for name in rows])
    table = pa.Table.from_pydict(rows, schema=schema)
    pq.write_table(table, path, compression="snappy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    manifest = build(args.out)
    n_q = sum(len(v["questions"]) for v in manifest["videos"])
    print(f"wrote {len(manifest['videos'])} videos, {n_q} questions to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
