"""Print a feasibility report's HTML to PDF with WeasyPrint, refusing Chinese without a font.

WeasyPrint (pango and fontconfig underneath) lays out the same HTML the browser shows, inline
SVG included, with the ``@page`` rules of the template (A4, page numbers). A Chinese report
needs a CJK font: without one pango draws empty boxes ("tofu") and the PDF looks finished but
cannot be read, so :func:`render_pdf_bytes` checks first and raises :class:`MissingFontError`
naming the package to install (Debian/Ubuntu ``fonts-noto-cjk``).
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from pathlib import Path

from resilience.feasibility.report_text import Lang

__all__ = ["CJK_FONT_PACKAGE", "MissingFontError", "find_cjk_fonts", "render_pdf_bytes"]

CJK_FONT_PACKAGE = "fonts-noto-cjk"
#: Font files that cover Simplified Chinese, by name, when ``fc-list`` is not installed.
_CJK_FILE_HINTS = ("NotoSansCJK", "NotoSerifCJK", "SourceHan", "wqy", "DroidSansFallback")
_FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")


class MissingFontError(RuntimeError):
    """No font that covers Chinese is installed, so a Chinese PDF would print empty boxes."""


@functools.cache
def find_cjk_fonts() -> tuple[str, ...]:
    """Return the installed font families (or files) that cover Simplified Chinese.

    Returns
    -------
    tuple of str
        ``fc-list :lang=zh-cn family`` when fontconfig's tools are installed, else the font
        files under the usual directories whose names mark them as CJK; empty when none.
    """
    fc_list = shutil.which("fc-list")
    if fc_list:
        listed = subprocess.run(
            [fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, check=False
        ).stdout
        return tuple(sorted({line.strip() for line in listed.splitlines() if line.strip()}))
    return tuple(
        sorted(
            str(path)
            for directory in _FONT_DIRS
            if directory.is_dir()
            for path in directory.rglob("*")
            if any(hint.lower() in path.name.lower() for hint in _CJK_FILE_HINTS)
        )
    )


def render_pdf_bytes(html: str, lang: Lang) -> bytes:
    """Return the PDF of a report page.

    Parameters
    ----------
    html : str
        A self-contained page (``report.render_html``); nothing is fetched (no base URL).
    lang : {"en", "zh"}
        The page's language: "zh" requires a CJK font.

    Returns
    -------
    bytes
        The PDF.

    Raises
    ------
    MissingFontError
        If ``lang`` is "zh" and :func:`find_cjk_fonts` finds nothing.
    """
    if lang == "zh" and not find_cjk_fonts():
        raise MissingFontError(
            "no Chinese (CJK) font is installed, so the Chinese PDF would print empty boxes: "
            f"install one, e.g. `apt-get install {CJK_FONT_PACKAGE}` (Debian/Ubuntu) or "
            "Noto Sans CJK SC from https://github.com/notofonts/noto-cjk"
        )
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # CSS it ignores, e.g. system-ui
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return bytes(weasyprint.HTML(string=html).write_pdf())
