"""Shared by the UM rules: which INVITE dialogs go to an Exchange UM, and where.

Not a rule.  Given ``--um-fqdn``, a dialog is a UM dialog when its INVITE is
sent to that host (Request-URI or Peer); without it, when a response names
itself ``MSExchangeUM/`` in ``Server:``/``User-Agent:``, and the UM FQDN is
then taken from the Request-URI of the INVITE as sent toward it (inferred).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..context import Context, is_um_product
from ..correlate import Message
from ..model import Direction, SipMessage
from ..statemachine import DialogRun
from ..timeline import Timeline


@dataclass
class UmLeg:
    run: DialogRun
    invite: Message
    invite_sip: SipMessage          # the sighting of the INVITE sent toward the UM
    um_fqdn: str | None
    inferred: bool

    @property
    def invite_host(self) -> str | None:
        uri = self.invite_sip.ruri
        return uri.host.lower() if uri and uri.host else None


def _toward(sip: SipMessage, ctx: Context) -> bool:
    uri = sip.ruri
    if uri and ctx.is_um(uri.host):
        return True
    return bool(sip.direction and sip.direction.direction is Direction.OUTGOING
                and sip.peer and ctx.is_um(sip.peer.host))


def um_legs(timeline: Timeline, ctx: Context) -> list[UmLeg]:
    legs = []
    for dialog in timeline.dialogs:
        run = timeline.run_of(dialog)
        if run is None or run.invite is None:
            continue
        invite = run.invite
        toward = [s for s in invite.sightings if _toward(s, ctx)]
        answered_by_um = any(m.sip.is_response and is_um_product(m.sip.user_agent)
                             for m in dialog.messages)
        if toward:
            sip = toward[-1]
            host = sip.ruri.host.lower() if sip.ruri and ctx.is_um(sip.ruri.host) else \
                (sip.peer.host.lower() if sip.peer else None)
            legs.append(UmLeg(run, invite, sip, host or ctx.um_fqdns[0], inferred=False))
        elif answered_by_um:
            sip = invite.forwarded
            uri = sip.ruri
            host = uri.host.lower() if uri and uri.host else None
            given = _given_for(host, ctx)
            if given:
                # seen before the front end chose the UM (an Edge log): the INVITE
                # still names the domain of a UM that was given
                legs.append(UmLeg(run, invite, sip, given, inferred=False))
            else:
                # a UM that is not one of those given (or none was given): its FQDN
                # can only be inferred from where the INVITE was sent
                legs.append(UmLeg(run, invite, sip, host, inferred=True))
    return legs


def _given_for(host: str | None, ctx: Context) -> str | None:
    """The given UM FQDN whose domain the Request-URI host is, or is in."""
    if not host:
        return None
    for fqdn in ctx.um_fqdns:
        domain = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
        if host == domain or host.endswith("." + domain):
            return fqdn
    return None


def um_answers(leg: UmLeg) -> list[Message]:
    """Responses in the leg's dialog that come from the UM side."""
    return [m for m in leg.run.dialog.messages if m.sip.is_response and not leg.run.dialog.sent_by_caller(m)]


def why_for(rule: type, leg: UmLeg) -> str:
    """The rule's "Why it matters", with a word on the UM FQDN when it was inferred."""
    from ._doc import section

    why = section(rule, "Why it matters")
    return f"{why} {INFERRED_NOTE}" if leg.inferred else why


INFERRED_NOTE = ("The UM FQDN was not given (--um-fqdn), so it was inferred from the trace: the "
                 "Request-URI host of the INVITE sent to the server that answered as MSExchangeUM.")
