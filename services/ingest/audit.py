"""Ingest's audit chain: who registered sources and rotated their secrets, who released a
quarantined item, who started a crawl or a bulk import.

The chain mechanism is `common.audit_chain`, as in review and the gateway. Entries are appended
in the transaction of the act they record (last, so the locked head row is held briefly).
Secrets never enter an entry; only their ids.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.audit_chain import AuditChain
from services.ingest.models import AuditEntry, AuditHead

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)


async def record(
    session: AsyncSession, actor: str, action: str, subject: str, data: dict[str, Any]
) -> AuditEntry:
    return await CHAIN.append(session, actor, action, subject, data)
