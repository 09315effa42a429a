"""The demo site tree `make run` starts with: a provincial portal, a city site, a county site;
and the demo new-media accounts (`KITCHEN_DEMO_CHANNEL_ACCOUNTS`)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from common.errors import ProblemError
from common.events import utcnow
from common.secretbox import SecretBox
from services.distribute import audit
from services.distribute.account_registry import create_account
from services.distribute.models import ChannelAccount, Site, SiteColumn
from services.distribute.schemas import ChannelAccountCreate

log = logging.getLogger(__name__)

DEMO_SITES = (
    ("province", "四川省人民政府", "www.sc.gov.cn", "5100000001", None),
    ("city", "成都市人民政府", "www.chengdu.gov.cn", "5101000001", "province"),
    ("county", "大邑县人民政府", "www.dayi.gov.cn", "5101290001", "city"),
)
# slug, name, type: the columns the national check indicators name, in display order.
DEMO_COLUMNS = (
    ("news", "要闻动态", "news"),
    ("notices", "通知公告", "notice"),
    ("policies", "政策文件", "policy"),
    ("interpretations", "政策解读", "interpretation"),
    ("interviews", "在线访谈", "interview"),
)


async def seed_demo_sites(session: AsyncSession) -> bool:
    """Create the demo tree when there are no sites at all; False when sites already exist."""
    if (await session.execute(select(func.count()).select_from(Site))).scalar_one():
        return False
    now = utcnow()
    for slug, name, domain, code, parent in DEMO_SITES:
        session.add(
            Site(
                slug=slug,
                name=name,
                domain=domain,
                site_id_code=code,
                parent=parent,
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()  # parents before children (foreign key)
        for position, (column, column_name, kind) in enumerate(DEMO_COLUMNS):
            session.add(
                SiteColumn(
                    site=slug,
                    slug=column,
                    name=column_name,
                    type=kind,
                    position=position,
                    created_at=now,
                    updated_at=now,
                )
            )
    await session.flush()
    return True


async def seed_demo_accounts(
    session: AsyncSession, box: SecretBox, registrations: list[dict[str, Any]]
) -> int:
    """Register the demo accounts when there are no accounts at all (credentials sealed, not
    checked with a platform, audited as the service); returns how many. A registration that
    does not fit the site tree (or the rules) is logged and skipped."""
    if (await session.execute(select(func.count()).select_from(ChannelAccount))).scalar_one():
        return 0
    made = 0
    for raw in registrations:
        try:
            data = ChannelAccountCreate.model_validate(raw)
            await create_account(session, data, box, audit.SYSTEM)
        except (ValidationError, ProblemError) as error:
            log.warning("demo account %r not registered: %s", raw.get("name"), error)
            continue
        made += 1
    return made
