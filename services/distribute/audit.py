"""Distribute's audit chain: who changed the site tree and the webhook receivers, who sent a
delivery again, which takedowns were applied and how each release settled.

The chain mechanism is `common.audit_chain`, as in review and the gateway. Entries are appended
in the transaction of the act they record, and as that transaction's last write: the head row is
locked until the commit, so taking it last keeps the lock order (delivery → release → head) the
same on every path and the lock short. Secrets never enter an entry.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from common.audit_chain import AuditChain
from services.distribute.models import AuditEntry, AuditHead

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)
# acts of the service itself (a release settled by the consumer or the dispatcher)
SYSTEM = "system:distribute"


async def record(
    session: AsyncSession, actor: str, action: str, subject: str, data: dict[str, Any]
) -> AuditEntry:
    return await CHAIN.append(session, actor, action, subject, data)
