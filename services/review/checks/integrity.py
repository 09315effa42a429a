"""Text integrity: what converters and crawlers leave behind (DOMAIN §2 "Real text is dirty")."""

from __future__ import annotations

import re

from services.review.checks.types import FieldName, Finding

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ"
_RULES: tuple[tuple[str, re.Pattern[str], str | None], ...] = (
    # 政府网站@@信息内容建设@@ — word-segmentation markers; the fix is to delete them.
    ("integrity.segmentation_marker", re.compile(r"@@+"), ""),
    # 發(fā) 網（wǎng） — a pinyin reading inserted after a character; the fix keeps the character.
    (
        "integrity.pinyin_annotation",
        re.compile(
            rf"(?<=[\u4e00-\u9fff])[(（]\s*[a-z{_TONED}]*[{_TONED}][a-z{_TONED}]*\d?\s*[)）]"
        ),
        "",
    ),
    ("integrity.replacement_char", re.compile("\ufffd+"), None),
    # UTF-8 read as Latin-1 / CP1252 (Ã©, â€œ), and GBK's classic "锟斤拷" / "烫烫烫" / "屯屯屯".
    (
        "integrity.mojibake",
        re.compile(r"(?:[ÃÂâåæçèéä][\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ])+"),
        None,
    ),
    ("integrity.mojibake", re.compile(r"(?:锟斤拷|烫烫烫|屯屯屯)+"), None),
    (
        "integrity.stray_token",
        re.compile(r"(?<=[\u4e00-\u9fff])[a-z]\d{1,3}\](?=[\u4e00-\u9fff])"),
        "",
    ),
)


def find_integrity_problems(text: str, field: FieldName = "body_text") -> list[Finding]:
    """Every marker, inserted reading, replacement character and mojibake run (all block)."""
    findings = [
        Finding(rule, "integrity", "block", m.start(), m.end(), m.group(), fix, field)
        for rule, pattern, fix in _RULES
        for m in pattern.finditer(text)
    ]
    return sorted(findings, key=lambda f: f.start)
