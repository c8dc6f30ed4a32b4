"""Message filters shared by the CLI and the notebook API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from ..model.sip import SipMessage


def parse_time(text: str) -> datetime:
    """ISO 8601 date-time; a time without zone is taken as UTC (traces are UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def message_hosts(msg: SipMessage) -> set[str]:
    """Every host a message names: Request-URI, From/To/Contact, Via, Route sets, Peer."""
    hosts: set[str] = set()
    uri = msg.ruri
    if uri and uri.host:
        hosts.add(uri.host.lower())
    for addr in (msg.from_, msg.to, *msg.contacts, *msg.record_routes, *msg.routes):
        if addr is not None and addr.host:
            hosts.add(addr.host.lower())
    for via in msg.vias:
        hosts.add(via.host.lower())
    if msg.peer:
        hosts.add(msg.peer.host.lower())
    return hosts


@dataclass(frozen=True)
class MessageFilter:
    call_id: str | None = None
    method: str | None = None
    status: str | None = None        # "486" or "4xx"
    host: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __call__(self, msg: SipMessage) -> bool:
        return all(test(msg) for test in self._tests())

    def _tests(self) -> list[Callable[[SipMessage], bool]]:
        tests: list[Callable[[SipMessage], bool]] = []
        if self.call_id:
            tests.append(lambda m: m.call_id == self.call_id)
        if self.method:
            want = self.method.upper()
            tests.append(lambda m: (m.cseq_method or "").upper() == want)
        if self.status:
            spec = self.status.lower()
            if len(spec) == 3 and spec.endswith("xx") and spec[0].isdigit():
                tests.append(lambda m: m.status is not None and m.status // 100 == int(spec[0]))
            else:
                tests.append(lambda m: m.status is not None and str(m.status) == spec)
        if self.host:
            host = self.host.lower()
            tests.append(lambda m: host in message_hosts(m))
        if self.since:
            tests.append(lambda m: m.time is not None and m.time >= self.since)  # type: ignore[operator]
        if self.until:
            tests.append(lambda m: m.time is not None and m.time <= self.until)  # type: ignore[operator]
        return tests
