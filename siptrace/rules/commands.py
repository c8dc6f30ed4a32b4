"""The commands a fix gives to paste, with the trace's own names filled in.

Each builder returns `Command`s: checks (read only) first, then the fix.
Only cmdlets and parameters that Microsoft documents publicly are used; the
page of each is in its ``doc``.  A name taken from a trace goes into a shell
line, so it is written bare only when it is a plain host/domain/SIP name,
and otherwise as a single-quoted literal with every quote-like character
removed: a crafted trace must not be able to run anything when pasted.
"""

from __future__ import annotations

import re

from .findings import Command

EMS = "the Exchange Management Shell"
CSMS = "the Skype for Business Server Management Shell"

_DOC = "https://learn.microsoft.com/powershell/module/"
DOCS = {
    "Get-ExchangeCertificate": _DOC + "exchange/get-exchangecertificate",
    "Enable-ExchangeCertificate": _DOC + "exchange/enable-exchangecertificate",
    "Restart-Service": _DOC + "microsoft.powershell.management/restart-service",
    "Test-CsExUMVoiceMail": _DOC + "skype/test-csexumvoicemail",
    "Resolve-DnsName": _DOC + "dnsclient/resolve-dnsname",
    "Test-NetConnection": _DOC + "nettcpip/test-netconnection",
    "Get-CsCertificate": _DOC + "skype/get-cscertificate",
    "Test-CsFederatedPartner": _DOC + "skype/test-csfederatedpartner",
    "Get-CsTrunkConfiguration": _DOC + "skype/get-cstrunkconfiguration",
    "Set-CsTrunkConfiguration": _DOC + "skype/set-cstrunkconfiguration",
}

_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+@:-]*")
_QUOTES = re.compile(r"['\u2018\u2019\u201a\u201b\"\u201c\u201d\u201e`$]|[\x00-\x1f\x7f]")


def ps(value: str) -> str:
    """A value from the trace as PowerShell reads it literally."""
    if _PLAIN.fullmatch(value):
        return value
    return "'" + _QUOTES.sub("", _printable(value)) + "'"


def _printable(value: str) -> str:
    """No control or format characters (a bidi override would show the line otherwise than it runs)."""
    return "".join(ch for ch in value if ch.isprintable())


def _cmd(step: str, line: str, shell: str) -> Command:
    name = line.split(maxsplit=1)[0] if line and not line.startswith(("#", "$")) else ""
    if line.startswith("$") and "=" in line:
        name = line.split("=", 1)[1].split(maxsplit=1)[0]
    return Command(step, line, shell, DOCS.get(name, ""))


def on(server: str | None) -> str:
    return f"Windows PowerShell on {server}" if server else "Windows PowerShell on that server"


def um_certificate(um_fqdn: str | None, contact_host: str, pool: str | None) -> tuple[Command, ...]:
    """Check which certificate the UM uses, assign one whose Subject Name is the UM's FQDN, restart, test.

    Without the UM server's FQDN (the trace does not show which server answered)
    only the check is given: the fix would have to guess the server.
    """
    server = f" -Server {ps(um_fqdn)}" if um_fqdn else ""
    out = [_cmd("check", f"Get-ExchangeCertificate{server} | Format-List Thumbprint,Subject,CertificateDomains,Services",
                EMS)]
    if not um_fqdn:
        out.append(_cmd("check", f"# run it on each UM server: the one whose certificate's Subject is "
                                 f"CN={_comment(contact_host)} is the one to fix", EMS))
        return tuple(out)
    subject = ps(f"CN={um_fqdn}*")
    out += [
        _cmd("fix", f"# no certificate with Subject CN={_comment(um_fqdn)}? Request one from your CA first "
                    f"(New-ExchangeCertificate), then:", EMS),
        _cmd("fix", f"$cert = Get-ExchangeCertificate{server} | Where-Object {{ $_.Subject -like {subject} }} "
                    f"| Select-Object -First 1", EMS),
        _cmd("fix", f"Enable-ExchangeCertificate{server} -Thumbprint $cert.Thumbprint -Services UM,UMCallRouter", EMS),
        _cmd("fix", "Restart-Service MSExchangeUM, MSExchangeUMCR", on(um_fqdn)),
    ]
    if pool:
        out.append(_cmd("fix", f"Test-CsExUMVoiceMail -TargetFqdn {ps(pool)}", CSMS))
    out.append(_cmd("fix", "# then call voicemail as a remote (Edge) user: internal calls can work with "
                           "the wrong name", CSMS if pool else EMS))
    return tuple(out)


def dns_srv(domain: str | None, source: str | None) -> tuple[Command, ...]:
    """The SRV record federation looks up for the domain (its answer names the partner's Access Edge)."""
    if not domain:
        return ()
    return (_cmd("check", f"Resolve-DnsName -Type SRV -Name {ps('_sipfederationtls._tcp.' + domain)}", on(source)),)


def dns_host(host: str | None, source: str | None) -> tuple[Command, ...]:
    if not host:
        return ()
    return (_cmd("check", f"Resolve-DnsName -Type A -Name {ps(host)}", on(source)),)


def connect(peer: str | None, port: str | int | None, source: str | None) -> tuple[Command, ...]:
    """Can the server that failed resolve the peer and open a TCP connection to its SIP port?"""
    if not peer:
        return ()
    shell = on(source)
    port_text = str(port) if port is not None and str(port).isdigit() else "5061"
    return (
        _cmd("check", f"Resolve-DnsName -Name {ps(peer)}", shell),
        _cmd("check", f"Test-NetConnection -ComputerName {ps(peer)} -Port {port_text}", shell),
    )


def certificates(source: str | None, domain: str | None = None, edge: str | None = None) -> tuple[Command, ...]:
    """The server's own certificates, and federation to the domain when the Edge is known."""
    out = [_cmd("check", "Get-CsCertificate | Format-List Use,Subject,AlternativeNames,Thumbprint,NotAfter",
                f"{CSMS} on {source}" if source else CSMS)]
    if domain and edge:
        out.append(_cmd("check", f"Test-CsFederatedPartner -TargetFqdn {ps(edge)} -Domain {ps(domain)}", CSMS))
    return tuple(out)


def trunk(gateway: str | None, refresher_is_gateway: bool | None) -> tuple[Command, ...]:
    """The Mediation Server's trunk settings for the peer that dropped the session refresh."""
    out = [_cmd("check", "Get-CsTrunkConfiguration | Format-List Identity,EnableSessionTimer,RTCPActiveCalls,"
                         "RTCPCallsOnHold", CSMS)]
    if gateway and refresher_is_gateway is False:
        out += [
            _cmd("fix", "# the Mediation Server refreshed and the gateway no longer knew the call: fix the "
                        "gateway's session timer, or stop refreshing toward it:", CSMS),
            _cmd("fix", f"Set-CsTrunkConfiguration -Identity {ps('PstnGateway:' + gateway)} -EnableSessionTimer $false",
                 CSMS),
        ]
    return tuple(out)


def _comment(value: str) -> str:
    """A value inside a `#` comment: one line, nothing that ends it."""
    return _QUOTES.sub("", _printable(value))
