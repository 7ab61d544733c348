"""The 热词 word cloud: a font that really draws Chinese, and a deterministic PNG of whole words."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFont

from dashboard import word_cloud
from dashboard.word_cloud import FontMissingError, build_wordcloud, covers_chinese, find_cjk_font, render_wordcloud

# jieba-style tokens: several are words wordcloud's own regex would split or drop (one character, mixed
# scripts), so they only come out whole when fed as frequencies.
WORDS = {
    "蔚来": 120,
    "电池": 80,
    "售后服务": 64,
    "续航": 50,
    "ET7": 31,
    "车主": 30,
    "充电桩": 22,
    "降价": 20,
    "发布会": 15,
    "好": 12,
    "投诉": 9,
    "李斌": 9,  # ties with 投诉: the order of equal counts must not change the picture
    "换电站": 5,
    "高速": 3,
    "体验": 2,
}


@pytest.fixture(scope="module")
def font() -> Path:
    try:
        return find_cjk_font()
    except FontMissingError as error:
        pytest.skip(f"no CJK font on this machine ({error})")


def latin_font() -> Path:
    """An installed font without Chinese (DejaVu Sans on Debian), or skip."""
    candidates = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")]
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "sans:lang=en"], capture_output=True, text=True).stdout
        candidates.insert(0, Path(found.strip()))
    for candidate in candidates:
        if candidate.is_file() and _glyph(candidate, "中") == _glyph(candidate, "\uffff"):  # 中 is the box
            return candidate
    pytest.skip("no Latin-only font found on this machine to refuse")


def _glyph(font: Path, char: str) -> bytes:
    mask = ImageFont.truetype(str(font), 48).getmask(char)
    return bytes(mask)


def test_the_found_font_draws_chinese_not_its_missing_glyph_box(font: Path) -> None:
    missing = _glyph(font, "\uffff")
    for char in "中文":
        glyph = _glyph(font, char)
        assert any(glyph), f"{char} draws nothing in {font}"
        assert glyph != missing, f"{char} is drawn as the missing-glyph box in {font}"
    assert _glyph(font, "中") != _glyph(font, "文")


def test_a_latin_only_font_is_refused_as_not_covering_chinese() -> None:
    latin = latin_font()
    assert not covers_chinese(latin)
    with pytest.raises(FontMissingError, match="does not cover Chinese") as refused:
        find_cjk_font(latin)
    assert "dashboard.font" in str(refused.value)
    assert "make system" in str(refused.value)


def test_a_configured_font_that_is_not_there_names_the_setting_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FontMissingError, match="does not exist") as missing:
        find_cjk_font(tmp_path / "no-such-font.ttc")
    message = str(missing.value)
    assert "dashboard.font" in message and "no-such-font.ttc" in message
    assert "make system" in message and "fonts-wqy-microhei" in message


def test_a_configured_cjk_font_is_used_as_given(font: Path) -> None:
    assert find_cjk_font(font) == font


def test_with_no_cjk_font_installed_the_error_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    latin = latin_font()  # what fc-match answers when no CJK font is installed
    monkeypatch.setattr(word_cloud, "_fc_match", lambda: latin)
    monkeypatch.setattr(word_cloud, "KNOWN_CJK_FONTS", (Path("/nonexistent/wqy-microhei.ttc"), latin))
    with pytest.raises(FontMissingError, match="no installed font covers Chinese") as none:
        find_cjk_font()
    assert "make system" in str(none.value) and "apt-get install fonts-wqy-microhei" in str(none.value)


def test_a_cloud_of_chinese_words_is_a_png_of_the_asked_size_with_words_on_white(font: Path) -> None:
    png = render_wordcloud(WORDS, font=font, width=640, height=300)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (640, 300)
    pixels = np.asarray(image).reshape(-1, 3)
    white = (pixels == 255).all(axis=1)
    assert white.mean() > 0.5  # a white background...
    assert (~white).mean() > 0.03  # ...with words drawn on it
    assert Image.open(io.BytesIO(render_wordcloud(WORDS, font=font, width=301, height=151))).size == (301, 151)


def test_the_biggest_word_is_placed_first_in_the_largest_size_and_words_stay_whole(font: Path) -> None:
    cloud = build_wordcloud(WORDS, font=font)
    layout = cloud.layout_
    (top_word, _), top_size, *_ = layout[0]
    assert top_word == "蔚来"
    assert all(top_size >= size for _, size, *_ in layout)
    assert top_size > layout[-1][1]
    placed = {word for (word, _), *_ in layout}
    assert {"售后服务", "ET7", "好", "充电桩"} <= placed  # whole tokens, one character and mixed script too
    assert placed <= set(WORDS)


def test_the_same_counts_give_the_same_bytes_in_any_order(font: Path) -> None:
    first = render_wordcloud(WORDS, font=font)
    assert render_wordcloud(dict(WORDS), font=font) == first
    assert render_wordcloud(dict(reversed(WORDS.items())), font=font) == first
    assert render_wordcloud({**WORDS, "体验": 3}, font=font) != first


def test_no_words_is_a_clear_error(font: Path) -> None:
    with pytest.raises(ValueError, match="at least one word"):
        render_wordcloud({}, font=font)
    with pytest.raises(ValueError, match="at least one word"):
        render_wordcloud({"蔚来": 0, " ": 5}, font=font)


def test_fontconfig_is_asked_for_simplified_chinese_and_answers_with_a_cjk_font() -> None:
    """``fc-match :lang=zh`` answers DejaVu Sans on Debian even with WenQuanYi installed; ``zh-cn`` does not."""
    if shutil.which("fc-list") is None or shutil.which("fc-match") is None:
        pytest.skip("fontconfig is not installed")
    if not subprocess.run(["fc-list", ":lang=zh-cn"], capture_output=True, text=True).stdout.strip():
        pytest.skip("fontconfig knows no Chinese font here")
    answer = word_cloud._fc_match()
    assert answer is not None and covers_chinese(answer), answer


def test_it_works_when_the_dashboard_folder_is_first_on_sys_path_as_streamlit_run_puts_it() -> None:
    """The PyPI package, not a module of dashboard/, is what the word cloud draws with."""
    root = Path(word_cloud.__file__).resolve().parent.parent
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from dashboard.word_cloud import render_wordcloud, find_cjk_font\n"
        "import wordcloud\n"
        "assert not wordcloud.__file__.startswith(sys.argv[1]), wordcloud.__file__\n"
        "print(len(render_wordcloud({'中文': 2, '热词': 1}, font=find_cjk_font(), width=200, height=100)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(root / "dashboard"), str(root)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0
