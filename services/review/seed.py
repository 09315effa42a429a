"""Demo lexicons and wording lists, seeded on start when the lexicon table is empty.

Real deployments replace them through the admin API (the customer supplies the lexicon).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.review import audit, lexicons
from services.review.models import Lexicon

DEMO_LEXICONS: tuple[dict[str, str], ...] = (
    {
        "name": "classification-marks",
        "kind": "classification",
        "category": "classification",
        "severity": "block",
        "description": "密级标志与不予公开标记（命中即转保密审查）",
        "text": "秘密★\n机密\n绝密\n内部资料\n内部文件\n不予公开\n注意保存",
    },
    {
        "name": "gambling",
        "kind": "sensitive",
        "category": "gambling",
        "severity": "block",
        "description": "赌博、博彩与常见挂马站名",
        "text": "六合彩\n百家乐\n时时彩\n网上赌场\n澳门赌场\n真人荷官\n博彩\n投注官网\n"
        "bet365\n365bet\n威尼斯人娱乐\n葡京娱乐",
    },
    {
        "name": "sensitive-demo",
        "kind": "sensitive",
        "category": "political",
        "severity": "block",
        "description": "演示用敏感词（正式环境由客户提供词库）",
        "text": "法轮功\n法轮大法\n反动标语\n代开发票\n办证刻章",
    },
    {
        "name": "absolute-claims",
        "kind": "sensitive",
        "category": "advertising",
        "severity": "warn",
        "description": "广告法极限用语",
        "text": "史上最\n全网最低\n顶级\n极品\n第一品牌\n国家级产品\n全球首发\n100%有效",
    },
    {
        "name": "wording-demo",
        "kind": "wording",
        "category": "wording",
        "severity": "block",
        "description": "严重表述错误（名称、称谓、地名、固定提法）",
        "text": "中华人民共合国 => 中华人民共和国\n一带一路战略 => 一带一路倡议\n"
        "台湾总统 => 台湾地区领导人\n北朝鲜 => 朝鲜\n十八大以来 => 党的十八大以来\n"
        "国务院办公室 => 国务院办公厅",
    },
    {
        "name": "typos-demo",
        "kind": "typo",
        "category": "typo",
        "severity": "warn",
        "description": "常见错别字",
        "text": "再接再励 => 再接再厉\n迫不急待 => 迫不及待\n按装 => 安装\n既使 => 即使\n"
        "一愁莫展 => 一筹莫展\n谈笑风声 => 谈笑风生\n默守成规 => 墨守成规",
    },
)


async def seed_lexicons(session: AsyncSession) -> int:
    """Create the demo lexicons if there are none; returns how many were created."""
    await audit.ensure_head(session)
    if (await session.execute(select(func.count()).select_from(Lexicon))).scalar_one():
        return 0
    for spec in DEMO_LEXICONS:
        entries = lexicons.parse_upload(spec["kind"], spec["text"])
        await lexicons.create_lexicon(
            session,
            name=spec["name"],
            kind=spec["kind"],
            category=spec["category"],
            severity=spec["severity"],
            description=spec["description"],
            entries=entries,
            actor="system",
        )
    return len(DEMO_LEXICONS)
