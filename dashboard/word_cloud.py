"""The 热词 page's word cloud: jieba tokens and their counts drawn as a PNG, in a font that has Chinese.

Two things go wrong with word clouds of Chinese text, and this module closes both:

* wordcloud's bundled font (DroidSansMono) and most Linux default fonts have no CJK glyphs, so every
  character comes out as a box. `find_cjk_font` takes the configured font (``dashboard.font``) or finds
  an installed one, and refuses any font that does not really draw Chinese — ``fc-match`` answers with a
  Latin font when no CJK font is installed (and, for ``:lang=zh``, even when one is, which is why it is
  asked for ``:lang=zh-cn``). `make system` installs fonts-wqy-microhei.
  (Not named wordcloud.py: ``streamlit run`` puts dashboard/ first on sys.path, where that name would
  hide the package it imports.)
* ``WordCloud.generate(text)`` splits on a Latin word regex, which mangles Chinese; `render_wordcloud`
  feeds counts through ``generate_from_frequencies``, so every token stays whole.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from random import Random
from typing import Any

from PIL import ImageFont
from wordcloud import WordCloud

# Tried after fc-match, in order: Debian/Ubuntu (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk),
# then Fedora and Arch's Noto CJK.
KNOWN_CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
FIX = "run `make system` (or `sudo apt-get install fonts-wqy-microhei`), or set dashboard.font to a CJK font file"

# Characters a font must draw to count as covering Chinese, and one no font draws (a noncharacter):
# its glyph is the font's missing-glyph box, which is what an uncovered character is drawn as.
_PROBE = "中文热词舆情"
_MISSING = "\uffff"

# Muted slate, teal and blue: readable on white, calm next to the dashboard's charts.
PALETTE = ("#2f4858", "#33658a", "#3a7ca5", "#55828b", "#5b8e7d", "#6d7f94", "#86a3b8", "#4a6670")
RANDOM_STATE = 20261129  # a fixed layout and colouring: the same counts give the same picture
MAX_WORDS = 200
# The layout (the slow part) is computed at 1/LAYOUT_SCALE of the picture and drawn at full size.
LAYOUT_SCALE = 2


class FontMissingError(RuntimeError):
    """No usable CJK font: the configured one is missing or has no Chinese, or none is installed."""


def covers_chinese(font: Path) -> bool:
    """True when the font draws Chinese characters, each differently from its missing-glyph box."""
    try:
        face = ImageFont.truetype(str(font), 48)
    except OSError:  # not a font file FreeType can read
        return False

    def glyph(char: str) -> tuple[tuple[int, int], bytes]:
        mask = face.getmask(char)
        return mask.size, bytes(mask)

    missing = glyph(_MISSING)
    drawn = [glyph(char) for char in _PROBE]
    return all(shape != missing and any(shape[1]) for shape in drawn)


def _fc_match() -> Path | None:
    """The font fontconfig picks for Simplified Chinese (maybe a Latin one: the caller checks)."""
    if shutil.which("fc-match") is None:
        return None
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(found) if found else None


def find_cjk_font(configured: Path | None = None) -> Path:
    """The font the word cloud draws with: the configured one (``dashboard.font``) or an installed CJK font.

    Raises FontMissingError, naming the fix, when the configured font does not exist or has no Chinese,
    or when no installed font covers Chinese.
    """
    if configured is not None:
        configured = configured.expanduser()
        if not configured.is_file():
            raise FontMissingError(f"dashboard.font is {configured}, which does not exist (or is not a file): {FIX}")
        if not covers_chinese(configured):
            raise FontMissingError(f"dashboard.font is {configured}, which does not cover Chinese: {FIX}")
        return configured
    candidates = [_fc_match(), *KNOWN_CJK_FONTS]
    for candidate in candidates:
        if candidate is not None and candidate.is_file() and covers_chinese(candidate):
            return candidate
    raise FontMissingError(f"no installed font covers Chinese (the word cloud would draw boxes): {FIX}")


def _calm_color(
    word: str, font_size: int, position: Any, orientation: Any, random_state: Random | None = None, **_: Any
) -> str:
    """wordcloud's color_func: a palette colour drawn from the cloud's own seeded random state."""
    return (random_state or Random(RANDOM_STATE)).choice(PALETTE)


def build_wordcloud(frequencies: Mapping[str, int], *, font: Path, width: int = 900, height: int = 420) -> Any:
    """The laid-out WordCloud (its ``layout_`` lists the placed words, biggest first); see render_wordcloud."""
    counts = {word: count for word, count in frequencies.items() if word.strip() and count > 0}
    if not counts:
        raise ValueError("no words to draw: the word cloud needs at least one word with a positive count")
    # Biggest first, ties by the word itself: the picture does not depend on the mapping's order.
    ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    cloud = WordCloud(
        font_path=str(font),
        width=-(-width // LAYOUT_SCALE),  # rounded up: render_wordcloud crops the odd pixel
        height=-(-height // LAYOUT_SCALE),
        scale=LAYOUT_SCALE,
        background_color="white",
        color_func=_calm_color,
        random_state=RANDOM_STATE,
        max_words=MAX_WORDS,
        prefer_horizontal=1.0,  # Chinese turned on its side is hard to read
        min_font_size=6,
        margin=2,
    )
    return cloud.generate_from_frequencies(ordered)


def render_wordcloud(frequencies: Mapping[str, int], *, font: Path, width: int = 900, height: int = 420) -> bytes:
    """The word cloud of these word counts as PNG bytes, ``width`` × ``height`` on white.

    Words are drawn whole (no splitting: pass jieba's tokens), sized by count, at most MAX_WORDS of
    them; the same counts always give the same bytes. Raises ValueError when there is no word with a
    positive count.
    """
    image = build_wordcloud(frequencies, font=font, width=width, height=height).to_image()
    image = image.crop((0, 0, width, height))  # odd sizes: the layout grid rounded up
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
