"""DNS Response Policy Zone text for whole-host entries (authority side, plaintext).

Only ``host`` entries are exported: DNS sees names, never paths, so exporting a page or
prefix entry would block a whole host for one page (the over-block this project exists to
avoid). Each host is exported with a wildcard for its subdomains, matching what a host
entry blocks on the proxy. IP-literal hosts and names that are not valid DNS names are left
out. Filter nodes only hold hashes and so cannot build this zone: it is published by the
authority next to the list.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from childsafe.block.core.entries import Entry, host_entry_names

DEFAULT_ZONE = "rpz.childsafe.invalid"
_NAME_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
    r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$"
)


class Policy(enum.StrEnum):
    NXDOMAIN = "nxdomain"
    CNAME = "cname"


def valid_dns_name(name: str) -> bool:
    return _NAME_RE.match(name) is not None


def render_rpz(
    entries: Iterable[Entry],
    *,
    serial: int,
    policy: Policy = Policy.NXDOMAIN,
    warning_host: str | None = None,
    zone: str = DEFAULT_ZONE,
    ttl: int = 300,
) -> tuple[str, list[str]]:
    """(zone text, hosts skipped as not DNS names). CNAME policy needs `warning_host`."""
    if policy is Policy.CNAME:
        if not warning_host or not valid_dns_name(warning_host.rstrip(".").lower()):
            raise ValueError("the cname policy needs a valid --warning-host name")
        target = warning_host.rstrip(".").lower() + "."
    else:
        target = "."
    lines = [
        f"$ORIGIN {zone}.",
        f"$TTL {ttl}",
        f"@ IN SOA localhost. hostmaster.invalid. ( {serial} 3600 600 604800 {ttl} )",
        "@ IN NS localhost.",
    ]
    skipped = []
    for host in host_entry_names(list(entries)):
        if not valid_dns_name(host):
            skipped.append(host)
            continue
        lines.append(f"{host} CNAME {target}")
        lines.append(f"*.{host} CNAME {target}")
    return "\n".join(lines) + "\n", skipped
