"""What the administrator tells siptrace about the deployment, and what it infers.

Rules need to know which host is the Exchange UM server.  Given with
``--um-fqdn``, that is a fact; not given, it is inferred from what the trace
says (a ``Server:`` or ``User-Agent:`` naming ``MSExchangeUM/``), and every
finding that rests on it says so.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    um_fqdns: tuple[str, ...] = ()
    edge_fqdns: tuple[str, ...] = ()
    pool_fqdns: tuple[str, ...] = ()

    @classmethod
    def of(cls, um_fqdn: tuple[str, ...] | list[str] | str | None = None,
           edge_fqdn: tuple[str, ...] | list[str] | str | None = None,
           pool_fqdn: tuple[str, ...] | list[str] | str | None = None) -> Context:
        def norm(value: object) -> tuple[str, ...]:
            if value is None:
                return ()
            items = [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]
            return tuple(str(v).strip().rstrip(".").lower() for v in items if str(v).strip())
        return cls(norm(um_fqdn), norm(edge_fqdn), norm(pool_fqdn))

    def is_um(self, host: str | None) -> bool:
        return bool(host) and host.lower().rstrip(".") in self.um_fqdns  # type: ignore[union-attr]


def is_ip(host: str | None) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def is_um_product(product: str | None) -> bool:
    """Exchange UM names itself ``RTCC/5.0.0.0 MSExchangeUM/15.01.2507.017``."""
    return bool(product) and "msexchangeum/" in product.lower()  # type: ignore[union-attr]
