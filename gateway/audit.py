"""The gateway's audit chain: who created accounts and who created or revoked API keys.

The chain mechanism is `common.audit_chain`, as in the review service; entries are appended in
the transaction of the change they record.
"""

from __future__ import annotations

from common.audit_chain import AuditChain
from gateway.models import AuditEntry, AuditHead

CHAIN: AuditChain[AuditEntry, AuditHead] = AuditChain(AuditEntry, AuditHead)
