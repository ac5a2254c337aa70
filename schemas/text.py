"""Text the registry accepts: no control characters, so stored text shows as it was typed.

C0 (U+0000-U+001F, NUL included), DEL (U+007F) and C1 (U+0080-U+009F) end C strings early,
rewrite a terminal or a log line, split a CSV export, and nobody types them on purpose. Every
text field is one line, except free text (descriptions, controls, PPE): a person may write
paragraphs and tabulated lists there, so line feeds (U+000A) and tabs (U+0009) are allowed in
it; a carriage return is not (send line breaks as \\n).
"""

from __future__ import annotations

import re

__all__ = ["FREE_TEXT", "NOT_BLANK_LINE", "ONE_LINE", "refuse_control_characters", "why_refused"]

_CONTROL = r"\x00-\x1f\x7f-\x9f"
_CONTROL_BUT_LF_TAB = r"\x00-\x08\x0b-\x1f\x7f-\x9f"

# JSON Schema patterns that Python's re and ECMA-262 read alike: msgspec checks them at decode
# time and the OpenAPI document shows them. `(?![\s\S])` is the end of the string (Python's `$`
# also matches before a final line feed, which would let "name\n" through).
ONE_LINE = rf"^[^{_CONTROL}]*(?![\s\S])"
NOT_BLANK_LINE = rf"^(?=[^{_CONTROL}]*\S)[^{_CONTROL}]*(?![\s\S])"
FREE_TEXT = rf"^[^{_CONTROL_BUT_LF_TAB}]*(?![\s\S])"

_NEVER = re.compile(f"[{_CONTROL_BUT_LF_TAB}]")
_LF_OR_TAB = re.compile(r"[\n\t]")


def why_refused(text: str) -> str:
    """Why `text` fails one of the patterns above, in words (msgspec names only the pattern)."""
    never = _NEVER.search(text)
    if never:
        return f"contains the control character U+{ord(never.group()):04X}, which is not allowed"
    line_break = _LF_OR_TAB.search(text)
    if line_break:
        return f"contains U+{ord(line_break.group()):04X} (a line feed or tab): this field is one line"
    return "must contain a character other than spaces"


def refuse_control_characters(text: str) -> str:
    """`text` unchanged, or ValueError naming its first control character: for one-line text
    read by a validator (identifiers, units, headers) rather than decoded against a pattern."""
    if re.search(ONE_LINE, text) is None:
        raise ValueError(why_refused(text))
    return text
