"""Page chrome that surrounds an article on government sites, recognised line by line."""

from __future__ import annotations

import re

# Each pattern matches a whole short line of chrome; long lines are never chrome (substantive
# text is never dropped just because it mentions, say, 发布日期).
CHROME_LINES = [
    re.compile(p)
    for p in (
        r"^(发布|發布|发稿|更新)(日期|时间|時間)[:：].{0,80}$",
        r"^.{0,60}字[体號号][:：]?\s*[\[【]?\s*[大中小]\s*[大中小]?\s*[大中小]?\s*[\]】]?.{0,40}$",
        r"^.{0,20}(扫一扫|掃一掃).{0,20}$",
        r"^(相关阅读|相關閱讀|相关链接|相关文章|相关新闻)[:：]?$",
        r"^Produced\s*By.{0,80}$",
        r"^.{0,30}(浏览量|浏览次数|访问量|瀏覽量|阅读次数|点击数|阅读量)[:：]?\s*\d*.{0,20}$",
        r"^.{0,10}[【\[]\s*(打印本页|关闭窗口|打印|关闭|收藏|返回顶部)\s*[】\]].{0,40}$",
        r"^(分享到|分享)[:：].{0,40}$",
        r"^(来源|来源于)[:：].{0,40}\s(作者|发布|浏览).{0,60}$",
        r"^(当前位置|您现在的位置|您的位置)[:：].{0,100}$",
    )
]
# After "相关阅读" come links to other articles; they belong to the chrome, not the article.
TRAILER_HEADINGS = re.compile(r"^(相关阅读|相關閱讀|相关链接|相关文章|相关新闻)[:：]?$")
MAX_CHROME_LINE = 120


def is_chrome(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > MAX_CHROME_LINE:
        return False
    return any(p.search(line) for p in CHROME_LINES)


def is_trailer_heading(line: str) -> bool:
    return bool(TRAILER_HEADINGS.match(line.strip()))
