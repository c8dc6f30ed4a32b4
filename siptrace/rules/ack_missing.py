from __future__ import annotations

from collections.abc import Iterator

from ..model.context import Context
from .findings import Evidence, Finding, Severity
from ..correlate.statemachine import EventKind, State
from ..correlate.timeline import Timeline
from . import commands
from ..model.words import plural
from ..model.sip import Uri
from ._doc import section

T1 = 0.5                       # RFC 3261 §17.1.1.1 default, seconds
GIVE_UP = 64 * T1              # §13.3.1.4: the UAS stops resending 2xx after 64*T1
BYE_WINDOW = (GIVE_UP - 4.0, GIVE_UP + 8.0)


class AckMissing:
    """The answering side never got the ACK for its 200 OK.

    What it sees:
        A 200 OK to an INVITE that is retransmitted (the UAS resends it at
        T1, 2*T1, ... up to T2) with no ACK for it in any file; or a BYE from
        the answering side about 32 s (64*T1) after the 200 OK with no ACK.
    Why it matters:
        RFC 3261 §13.3.1.4: a UAS that gets no ACK keeps resending its 2xx for
        64*T1 and then SHOULD end the session with a BYE.  Calls that ring,
        connect and drop after ~32 s, often with no media, are this.  The ACK
        is lost on the way back: a Contact or Record-Route the caller's side
        cannot reach, a NAT/firewall, or a proxy that drops it.
    Fix:
        Follow the ACK's path: its Request-URI (the 200 OK Contact) and Route
        set (the Record-Route) must be reachable from the caller's side; check
        the certificate names and DNS of every hop in that path, and the
        firewall between them.
    Not flagged:
        An ACK seen in any of the files (even if sent to the wrong host:
        ack-retarget-bye looks at that; even if only the Edge's or another
        front end's log holds it); a 200 OK resent once or twice before the
        ACK arrives (a slow path, then acknowledged); a single 200 OK with a
        BYE long after; the answered dialog of a call that a UM Call Router
        redirected (302, acknowledged hop by hop by the proxy) or that
        another UM server answered; a call whose Contact is a latent
        certificate name that still leads to the UM (its ACK is seen).
    References:
        RFC 3261 §13.3.1.4, §17.1.1.1 (T1), §17.2.1; Microsoft Learn:
        Resolve-DnsName, Test-NetConnection (the finding gives them for the
        200 OK's Contact host and port, unless it is a GRUU, to run on the
        proxy that sends the ACK).
    """

    id = "ack-missing"
    title = "200 OK to INVITE never acknowledged"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for run in timeline.runs.values():
            confirmed = run.entered.get(State.CONFIRMED)
            if confirmed is None:
                continue
            ok = confirmed.message
            dialog = run.dialog
            cseq = ok.sip.cseq
            acked = [m for m in dialog.requests("ACK")
                     if cseq is None or (m.sip.cseq and m.sip.cseq.number == cseq.number)]
            if acked:
                continue  # the ACK was seen somewhere
            resent = [e.message for e in run.of_kind(EventKind.RETRANSMISSION)
                      if e.message.retransmission_of is ok]
            byes = [m for m in dialog.requests("BYE") if not dialog.sent_by_caller(m)
                    and m.time and ok.time and m.time > ok.time]
            bye = byes[0] if byes else None
            delay = (bye.time - ok.time).total_seconds() if bye and bye.time and ok.time else None
            timed_bye = delay is not None and BYE_WINDOW[0] <= delay <= BYE_WINDOW[1]
            if not resent and not timed_bye:
                continue
            contact = ok.sip.contacts[0].uri if ok.sip.contacts else None
            evidence = [Evidence.of_message(ok.sip, "200 OK to INVITE")]
            evidence += [Evidence.of_message(m.sip, "retransmitted") for m in resent]
            if bye is not None:
                evidence.append(Evidence.of_message(bye.sip, f"{delay:.1f} s after the 200 OK"))
            parts = []
            if resent:
                parts.append(f"200 OK resent {plural(len(resent), 'time')}")
            if bye is not None and delay is not None:
                parts.append(f"BYE from the answering side {delay:.1f} s later")
            yield Finding(
                rule=self.id, severity=self.severity,
                summary=f"No ACK for the 200 OK to INVITE in any file: {', '.join(parts)}",
                why=section(AckMissing, "Why it matters"), fix=section(AckMissing, "Fix"),
                evidence=tuple(evidence),
                facts=(("retransmissions", len(resent)),
                       ("bye_delay_s", round(delay, 3) if delay is not None else None),
                       ("ack_seen", False)),
                call_id=dialog.call_id, time=ok.time,
                commands=commands.connect(contact.host if contact else None, contact.port if contact else None,
                                          None) if contact is not None and not _gruu(contact) else ())


def _gruu(uri: Uri) -> bool:
    """A GRUU Contact names a user's endpoint through its registrar: no host to resolve or connect to."""
    return uri.param("gruu") is not None or uri.param("opaque") is not None
