"""The site navigation every page's header shows, and which section a page belongs to.

``base.html`` draws :data:`NAV_LINKS` and marks the current section: the ``section`` a page
passes, else the section of its template's name (:func:`section_of`), which
:class:`PageTemplate` adds to every render as ``page_template``. So pages written by other
modules (``checks_*.html``, ``risk*.html``) are marked without passing anything.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Template

__all__ = ["NAV_LINKS", "PageTemplate", "is_engineer_page", "section_of"]

#: (section, href, label) of the header's links, in order.
NAV_LINKS: tuple[tuple[str, str, str], ...] = (
    ("warnings", "/", "预警 Warnings"),
    ("risk", "/risk", "风险地图 Risk map"),
    ("checks", "/checks/new", "可行性核查 Feasibility checks"),
    ("checks-list", "/checks", "我的核查 My checks"),
    ("docs", "/docs", "API 文档 API docs"),
    ("feed", "/v1/feeds/public.atom", "公开订阅 Public feed"),
)
#: Template name (or prefix) -> section; first match wins.
_SECTIONS: tuple[tuple[str, str], ...] = (
    ("index.html", "warnings"),
    ("detail.html", "warnings"),
    ("missing.html", "warnings"),
    ("signin.html", "signin"),
    ("checks_signin", "checks-signin"),
    ("checks_new", "checks"),
    ("checks_", "checks-list"),
    ("risk", "risk"),
)
#: Engineer pages that only a signed-in engineer or reviewer reaches (the others redirect).
_ENGINEER_ONLY = ("checks_new", "checks_list", "checks_detail", "checks_missing")


def section_of(template: str | None) -> str:
    """Return the navigation section of a page template (``""``: none is marked).

    Parameters
    ----------
    template : str or None
        The template's name, e.g. ``"checks_list.html"``.

    Returns
    -------
    str
        A section of :data:`NAV_LINKS`, ``"signin"`` or ``"checks-signin"``, or ``""``.
    """
    name = template or ""
    return next((section for prefix, section in _SECTIONS if name.startswith(prefix)), "")


def is_engineer_page(template: str | None) -> bool:
    """Return True if only a signed-in engineer or reviewer sees this page template."""
    return (template or "").startswith(_ENGINEER_ONLY)


class PageTemplate(Template):
    """A Jinja2 template whose render also passes its own name as ``page_template``."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render with ``page_template`` (this template's name) added to the context."""
        kwargs.setdefault("page_template", self.name)
        return super().render(*args, **kwargs)
