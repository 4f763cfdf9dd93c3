"""The client's address behind our TLS proxy, for the login lock-out (django-axes).

Used only when `DJANGO_BEHIND_TLS_PROXY=true` (settings.py points axes'
`AXES_CLIENT_IP_CALLABLE` here); otherwise axes uses `REMOTE_ADDR` as it is.

Behind a proxy every request comes from the proxy's address, so a lock on
"username on this address" would lock a username for the whole company. The proxy
appends the address it saw to `X-Forwarded-For` (nginx: `$proxy_add_x_forwarded_for`);
whatever the client sent itself is further left. So the address we trust is the one
our own proxies added: counted from the right, the `TRUSTED_PROXY_COUNT`-th entry.
Everything left of it is the client's word and is never used.

axes 8 delegates header parsing to the optional django-ipware, whose resolver ranks
addresses (public over private) and may pick another header than the one our proxy
writes; this rule is short enough to state and test exactly.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def forwarded_client_address(request: HttpRequest) -> str | None:
    """The address our trusted proxy saw, from the right of `X-Forwarded-For`.

    Falls back to `REMOTE_ADDR` (the proxy itself) when the header is missing, holds
    fewer entries than we have proxies, or the entry is not an IP address: such a
    request did not come through our proxies as configured, and its failures then
    count on the proxy's address, as they did before.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 1)
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    entries = [entry.strip() for entry in header.split(",")] if header.strip() else []
    if len(entries) < count:
        return remote
    candidate = entries[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
