"""Interaction's audit chain: who prepared and who approved a case's public rendition (with
what was redacted), who changed the departments that handle cases, who imported a calendar year.

The chain mechanism is `common.audit_chain`, as in the other services. Entries are appended in the
transaction of the act they record, last, so the locked head row is held briefly. Citizens'
personal data never enters an entry: only case numbers, field names and counts.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.audit_chain import AuditChain
from services.interaction.models import AuditEntry, AuditHead

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)


async def record(
    session: AsyncSession, actor: str, action: str, subject: str, data: dict[str, Any]
) -> AuditEntry:
    return await CHAIN.append(session, actor, action, subject, data)
