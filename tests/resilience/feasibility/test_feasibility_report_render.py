"""The report as a reader sees it: HTML in headless Chromium, PDF through poppler.

These fail on a blank or broken page: too few non-white pixels, an inline SVG that lays out
empty, a page wider than the window, a missing verdict, a one-page or blank PDF, or a Chinese
PDF whose text is not Chinese. They skip with the reason when chromium or poppler-utils are
not installed; ``.ci/run`` installs them (and fonts-noto-cjk) so CI runs them.
"""

import json
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from resilience.feasibility.check import run_check
from resilience.feasibility.report import render_html, render_pdf
from resilience.feasibility.report_text import TEXT

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
POPPLER = all(shutil.which(n) for n in ("pdftoppm", "pdftotext", "pdffonts"))
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
needs_poppler = pytest.mark.skipif(
    not POPPLER,
    reason="pdftoppm/pdftotext/pdffonts are not installed (apt-get install poppler-utils)",
)
#: Injected into a copy of the page (the report itself has no script): what the browser laid
#: out, written into the DOM for --dump-dom.
PROBE = """<script>
window.addEventListener("load", () => {
  const svgs = [...document.querySelectorAll("svg")];
  const drawn = svgs.filter(s => {
    const box = s.getBoundingClientRect();
    return box.width > 100 && box.height > 100 && s.querySelectorAll("path,text").length > 10;
  });
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    svgs: svgs.length, drawn: drawn.length, text: document.body.innerText,
    overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
  });
  document.body.appendChild(probe);
});
</script></body>"""


@pytest.fixture
def result(hot_layers, submission):
    return run_check(submission, hot_layers)


def _ink(png):
    """Fraction of pixels that are not (near) white."""
    pixels = np.asarray(Image.open(png).convert("L"))
    return float((pixels < 235).mean())


def _chromium(tmp_path, html, *args):
    page = tmp_path / f"page{len(list(tmp_path.iterdir()))}.html"
    page.write_text(html, encoding="utf-8")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += ["--window-size=1100,2400", *args, page.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@needs_chromium
def test_the_pixel_check_fails_on_a_blank_page(tmp_path):
    shot = tmp_path / "blank.png"
    _chromium(tmp_path, "<!DOCTYPE html><html><body></body></html>", f"--screenshot={shot}")
    assert _ink(shot) < 0.001  # the threshold below would catch it


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chromium_renders_the_report(result, lang, tmp_path):
    html = render_html(result, lang=lang)
    shot = tmp_path / f"report_{lang}.png"
    _chromium(tmp_path, html, f"--screenshot={shot}")
    assert _ink(shot) > 0.03, f"page looks blank: {_ink(shot):.4f} of pixels inked"
    dom = _chromium(tmp_path, html.replace("</body>", PROBE), "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the page did not finish loading"
    probe = json.loads(
        found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    assert probe["svgs"] == 7 and probe["drawn"] == 7, probe | {"text": "..."}
    assert not probe["overflow"], "the page is wider than the window"
    verdict = f"{TEXT['verdict'][lang]}: {TEXT[result.verdict][lang]}"
    assert verdict in probe["text"]
    assert TEXT["title"][lang] in probe["text"]


def _pages(tmp_path, pdf, name):
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", path, tmp_path / name], check=True)
    pages = sorted(tmp_path.glob(f"{name}-*.png"))
    text = subprocess.run(
        ["pdftotext", "-layout", path, "-"], capture_output=True, text=True, check=True
    ).stdout
    fonts = subprocess.run(["pdffonts", path], capture_output=True, text=True, check=True).stdout
    return pages, text, fonts


@needs_poppler
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_pdf_has_pages_with_ink_and_the_verdict_in_its_text(result, lang, tmp_path):
    start = time.perf_counter()
    render_html(result, lang=lang)
    middle = time.perf_counter()
    pdf = render_pdf(result, lang=lang)
    end = time.perf_counter()
    print(f"{lang}: HTML {middle - start:.2f} s, PDF {end - middle:.2f} s (HTML included)")
    assert pdf.startswith(b"%PDF-")
    pages, text, fonts = _pages(tmp_path, pdf, lang)
    assert len(pages) > 1
    inked = [_ink(page) for page in pages]
    assert min(inked) > 0.002, inked  # every page has something on it
    assert inked[0] > 0.01, inked
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", f"{TEXT['verdict'][lang]}: {TEXT[result.verdict][lang]}") in flat
    assert TEXT["title"][lang].replace(" ", "") in flat
    if lang == "zh":
        assert "论证结论" in flat and "设计使用年限" in flat and "\ufffd" not in text
        # text extraction cannot see tofu; the embedded fonts can: a CJK face must be there
        assert re.search(r"CJK|Han|WenQuanYi|wqy", fonts, re.I), fonts
    assert end - start < 60  # measured about 1 s HTML and 3-5 s PDF on 2 cores
