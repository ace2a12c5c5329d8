"""Routing benchmark: time from API submission to the case being visible in the right queue.

Starts the real server (uvicorn) on loopback with the embedded SQLite store, logs in one
officer of each receiving agency (CEOP for GB, HSI for US, INTERPOL for FR — no member), and
files immediate reports at a steady 50 reports/s for 10 s through `POST /api/v1/reports`,
spread over the three countries. Each officer polls its agency's `GET /api/v1/queue` every
20 ms; the k-th report sent to an agency is visible when that queue first holds k cases.
Latency = visible time - send time (open loop: sends leave on schedule). Also checks that
every case landed in the right agency and nowhere else. Target (issue 4): p99 < 1 s.
The last line is one JSON object with at least `p50_s` and `p99_s`.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.support.server import UNLIMITED, running_server  # noqa: E402
from childsafe.core.crypto import new_keyring  # noqa: E402
from childsafe.store import accounts, agencies, migrate, providers  # noqa: E402
from childsafe.store.db import Database, make_engine  # noqa: E402

RATE, SECONDS, POLL = 50, 10, 0.02
ROUTES = {"GB": "UK-NCA-CEOP", "US": "US-DHS-HSI", "FR": "INT-INTERPOL"}
PASSWORD = "benchmark-password-1"


def body(i: int, country: str) -> dict:
    return {"answers": {"danger": "yes", "who": "parent_carer", "country": country,
                        "what": "contact", "cues": ["asked_age", "asked_alone"],
                        "platform": "Chatty", "when": time.strftime("%Y-%m-%d"),
                        "suspect": f"user{i}"},
            "reporter": {"name": "Bench Parent", "phone": "+44 20 7946 0018", "country": country,
                         "age_band": "18_plus", "relationship": "parent_carer"},
            "pasted_text": f"are you alone? (message {i})"}


def login(base: str, username: str, secret: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf": csrf})
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', r.text).group(1)
    r = client.post("/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf": csrf})
    if client.get("/api/v1/queue").status_code != 200:
        raise SystemExit(f"could not log in {username}")
    return client


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="childsafe-routing-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    keyring = new_keyring()
    db = Database(url)
    secrets_by_agency: dict[str, tuple[str, str]] = {}
    with db.transaction() as s:
        agencies.seed_agencies(s)
        key = providers.issue_key(s, providers.create_provider(s, "BenchChat"),
                                  ["provider:report:write"]).plaintext
        for code in ROUTES.values():
            name = f"duty.{code.lower()[:20]}"
            user = accounts.create_user(s, agency=agencies.get_by_code(s, code), username=name,
                                        display_name=name, password=PASSWORD, roles="officer")
            secret = accounts.begin_totp_enrolment(s, keyring, user)
            user.totp_enrolled = True
            secrets_by_agency[code] = (name, secret)
    db.dispose()
    env = {"CHILDSAFE_DATA_DIR": str(tmp), "CHILDSAFE_DATABASE_URL": url,
           "CHILDSAFE_KEYS": keyring.to_json(), "CHILDSAFE_MAIL_SENDER": "memory",
           "CHILDSAFE_COOKIE_SECURE": "false"} | UNLIMITED
    with running_server(env, tmp / "server.log") as (base, _server):
        officers = {code: login(base, *secrets_by_agency[code]) for code in ROUTES.values()}
        result = asyncio.run(run_load(base, key, officers))
    print(json.dumps(result))


async def run_load(base: str, key: str, officers: dict[str, httpx.Client]) -> dict:
    total = RATE * SECONDS
    plan = [(i, list(ROUTES)[i % len(ROUTES)]) for i in range(total)]
    sent: dict[str, list[float]] = {code: [] for code in ROUTES.values()}
    visible: dict[str, list[float]] = {code: [] for code in ROUTES.values()}
    errors = 0
    done = asyncio.Event()
    cookies = {code: dict(c.cookies) for code, c in officers.items()}

    async with httpx.AsyncClient(base_url=base, timeout=30,
                                 limits=httpx.Limits(max_connections=100)) as client:
        async def poll(code: str) -> None:
            async with httpx.AsyncClient(base_url=base, cookies=cookies[code],
                                         timeout=30) as c:
                seen = 0
                while not (done.is_set() and seen >= len(sent[code])):
                    r = await c.get("/api/v1/queue")
                    now = time.perf_counter()
                    count = r.json()["open"] if r.status_code == 200 else seen
                    while seen < count:
                        visible[code].append(now)
                        seen += 1
                    await asyncio.sleep(POLL)

        async def submit(k: int, i: int, country: str, start: float) -> None:
            nonlocal errors
            at = start + k / RATE
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            sent[ROUTES[country]].append(at)
            r = await client.post("/api/v1/reports", json=body(i, country),
                                  headers={"authorization": f"Bearer {key}"})
            if r.status_code != 201 or r.json().get("agency") != ROUTES[country]:
                errors += 1

        pollers = [asyncio.create_task(poll(code)) for code in ROUTES.values()]
        start = time.perf_counter() + 0.3
        print(f"sending {total} reports at {RATE}/s to {', '.join(ROUTES.values())} ...",
              flush=True)
        await asyncio.gather(*(submit(k, i, c, start) for k, (i, c) in enumerate(plan)))
        done.set()
        await asyncio.wait_for(asyncio.gather(*pollers), timeout=60)
    latencies = sorted(v - s for code in sent
                       for s, v in zip(sorted(sent[code]), visible[code], strict=False))
    misrouted = sum(abs(len(visible[c]) - len(sent[c])) for c in sent)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))], 4)

    result = {"p50_s": pct(50), "p99_s": pct(99), "max_s": round(latencies[-1], 4),
              "reports": total, "rate_per_s": RATE, "errors": errors,
              "misrouted_or_missing": misrouted,
              "per_agency": {c: len(visible[c]) for c in visible}, "target_p99_s": 1.0}
    print(f"p50 {result['p50_s'] * 1000:.0f} ms, p99 {result['p99_s'] * 1000:.0f} ms, "
          f"errors {errors}, misrouted/missing {misrouted}", flush=True)
    return result


if __name__ == "__main__":
    main()
