"""How ``--help`` shows options: flags without a value placeholder.

typer 0.29's rich help prints the type of every option, so a flag reads ``--plot <bool>``
as if it took a value. :func:`hide_flag_placeholders` makes flags (``--json``, ``--help``,
``--no-defences``...) show no type; options that take a value keep theirs (``<path>``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["hide_flag_placeholders"]


def hide_flag_placeholders() -> None:
    """Show no type placeholder for flag options in typer's help (idempotent)."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_hides_flags", False):
        return  # another typer (the method is not public API): its help stays as it is

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:  # noqa: ANN401
        if self.is_flag and self.metavar is None:
            return None
        return shown(self, ctx)

    display_type_rich._hides_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
