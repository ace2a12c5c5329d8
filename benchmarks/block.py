"""Block benchmark: our Squid helper vs squidGuard, and the matcher with 1,000,000 entries.

Part 1 feeds both url_rewrite helpers (as subprocesses, over stdin) the same 200,000 request
lines against the same generated 10,000-entry list, checks every answer against the
decision known by construction, and reports throughput (steady state, after a warm-up
request), peak RSS and misses / false blocks for each. squidGuard is expected to miss
`/./` and `/../` variants and to block wrong-case paths; those count as *its* errors.

Part 2 loads a 1,000,000-entry list from a node state file in a fresh subprocess and
measures matcher decisions per second on one core with 99.9% unlisted traffic, and that
process's peak RSS.

Only reserved names (*.test, example.com). The last line printed is one JSON object.
Usage: python benchmarks/block.py [--requests N] [--skip-squidguard]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from childsafe.block.core.entries import Entry, make_entry
from childsafe.block.core.listfile import build_snapshot, snapshot_from_expressions
from childsafe.block.state import StateDir

WARNING = "http://warning.test/blocked"
SQUIDGUARD = shutil.which("squidGuard") or "/usr/bin/squidGuard"
EXTRAS = "192.0.2.1/- - GET myip=127.0.0.1 myport=3128"


def gen_list(n: int) -> tuple[list[Entry], list[str], list[str]]:
    """n entries over hosts siteNNNNN.test: 1/4 whole host, 1/4 prefix, 1/2 pages."""
    entries, domains, urls = [], [], []
    for i in range(n):
        host = f"site{i:05d}.test"
        if i % 4 == 0:
            entries.append(make_entry(host, "host", "bench", "bench", "", "2030-01-01"))
            domains.append(host)
        elif i % 4 == 1:
            url = f"{host}/dir{i}/sub"
            entries.append(make_entry("http://" + url, "prefix", "bench", "bench", "", "2030-01-01"))
            urls.append(url)
        else:
            url = f"{host}/p/{i}/Page{i}.html"
            entries.append(make_entry("http://" + url, "page", "bench", "bench", "", "2030-01-01"))
            urls.append(url)
    return entries, domains, urls


def _variants(i: int, rnd: random.Random) -> tuple[list[str], list[str]]:
    """(listed URL variants, unlisted URL variants on the same or a look-alike host)."""
    h = f"site{i:05d}.test"
    r = rnd.randrange(10**6)
    if i % 4 == 0:
        listed = [
            f"http://{h}/any/{r}",
            f"http://www.{h}/x{r}",
            f"http://{h.upper()}./y",
            f"http://{h}:80/z?{r}",
            f"http://u@{h}/",
        ]
        unlisted = [f"http://{h}.example.com/{r}", f"http://x{h}/{r}"]
    elif i % 4 == 1:
        d = f"dir{i}"
        listed = [
            f"http://{h}/{d}/sub",
            f"http://{h}/{d}/sub/",
            f"http://{h}/{d}/sub/x{r}.html?q=1",
            f"http://{h}/{d}/./sub/x",
            f"http://{h}/{d}/x/../sub/y{r}",
            f"http://{h}//{d}//sub/z",
            f"http://{h}/%64ir{i}/sub/{r}",
            f"http://{h.upper()}/{d}/sub/{r}",
        ]
        unlisted = [
            f"http://{h}/{d}/subx",
            f"http://{h}/{d}/Sub/x{r}",
            f"http://{h}/{d}/",
            f"http://{h}/other{r}",
        ]
    else:
        p = f"/p/{i}/Page{i}.html"
        listed = [
            f"http://{h}{p}",
            f"http://{h}{p}?a={r}",
            f"http://{h}/p/./{i}/Page{i}.html",
            f"http://{h}/p/{i}/../{i}/Page{i}.html",
            f"http://{h.upper()}:80{p}",
        ]
        unlisted = [
            f"http://{h}{p.lower()}",
            f"http://{h}{p}x",
            f"http://{h}/p/{i}/",
            f"http://{h}/p/{i}/Page{i}.htm",
        ]
    return listed, unlisted


LISTED_SHARE = 0.0075  # listed URLs (in every Cleanfeed variant)
LOOKALIKE_SHARE = 0.0075  # unlisted paths on listed hosts, look-alike hosts


def gen_requests(n: int, n_entries: int, seed: int = 5) -> list[tuple[str, bool]]:
    """98.5% of requests to 30,000 unlisted hosts (uniform: cold caches), 0.75% listed URL
    variants, 0.75% unlisted paths on listed hosts. Real ISP traffic hits listed hosts far
    less often; the 1,000,000-entry test uses 99.9% unlisted."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        x = rnd.random()
        if x >= LISTED_SHARE + LOOKALIKE_SHARE:
            host = f"c{rnd.randrange(30000)}.example.com"
            out.append((f"http://{host}/img/{rnd.randrange(1000)}.png?v={rnd.randrange(99)}", False))
        else:
            listed, unlisted = _variants(rnd.randrange(n_entries), rnd)
            if x < LISTED_SHARE:
                out.append((rnd.choice(listed), True))
            else:
                out.append((rnd.choice(unlisted), False))
    return out


def _vm_hwm_mb(pid: int) -> float:
    """Peak RSS of a live process (VmHWM; ru_maxrss would include the forking parent)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _timed_run(cmd: list[str], infile: Path, outfile: Path, env=None) -> tuple[float, float]:
    """Wall time of one run fed from a file, and its peak RSS (VmHWM, polled while alive)."""
    with open(infile, "rb") as fin, open(outfile, "wb") as fout:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, env=env)
        peak = 0.0
        while proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                peak = max(peak, _vm_hwm_mb(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    return elapsed, peak


def run_helper(cmd: list[str], lines: list[bytes], warmup: bytes, d: Path, env=None) -> dict:
    """Throughput of a url_rewrite helper: (time for warm-up + N lines) - (time for warm-up
    only), best of 3, so start-up and list loading are not counted; fed from a file so the
    harness costs nothing. Also its peak RSS and its answers."""
    (d / "warm.in").write_bytes(warmup)
    (d / "full.in").write_bytes(warmup + b"".join(lines))
    startup = min(_timed_run(cmd, d / "warm.in", d / "warm.out", env)[0] for _ in range(3))
    runs = [_timed_run(cmd, d / "full.in", d / "full.out", env) for _ in range(3)]
    full = min(r[0] for r in runs)
    answers = (d / "full.out").read_bytes().split(b"\n")[1 : len(lines) + 1]
    # Second pass over the same traffic in the same process: a long-running helper's caches.
    (d / "twice.in").write_bytes(warmup + b"".join(lines) * 2)
    twice = min(_timed_run(cmd, d / "twice.in", d / "twice.out", env)[0] for _ in range(3))
    return {
        "seconds": max(full - startup, 1e-9),
        "seconds_warm": max(twice - full, 1e-9),
        "rss_mb": max(r[1] for r in runs),
        "answers": answers,
    }


def score(answers: list[bytes], requests: list[tuple[str, bool]]) -> tuple[int, int]:
    misses = false_blocks = 0
    for ans, (_, expected) in zip(answers, requests, strict=True):
        blocked = b" OK" in b" " + ans
        if expected and not blocked:
            misses += 1
        elif blocked and not expected:
            false_blocks += 1
    return misses, false_blocks


def squidguard_setup(d: Path, domains: list[str], urls: list[str]) -> Path:
    db = d / "sgdb"
    (db / "listed").mkdir(parents=True)
    (d / "sglog").mkdir()
    (db / "listed" / "domains").write_text("\n".join(domains) + "\n")
    (db / "listed" / "urls").write_text("\n".join(urls) + "\n")
    conf = d / "squidGuard.conf"
    conf.write_text(
        f"dbhome {db}\nlogdir {d / 'sglog'}\n"
        "dest listed {\n  domainlist listed/domains\n  urllist listed/urls\n}\n"
        f"acl {{\n  default {{\n    pass !listed all\n    redirect {WARNING}\n  }}\n}}\n"
    )
    subprocess.run(
        [SQUIDGUARD, "-c", str(conf), "-C", "all"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    return conf


def matcher_1m_child(state_dir: str, n_entries: int) -> None:
    """In a fresh process: load the node list, time decisions, report RSS (one JSON line)."""
    from childsafe.block.core.matcher import Matcher

    matcher = Matcher(StateDir(state_dir).current())
    rss_loaded = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    rnd = random.Random(11)
    pool, expected = [], 0
    for _ in range(200_000):
        if rnd.random() < 0.001:
            i = rnd.randrange(n_entries // 4) * 4 + rnd.choice((0, 2, 3))  # host or page entry
            pool.append(f"http://h{i}.test/p/{i}.html?x=1".encode())
            expected += 1
        else:
            pool.append(f"http://c{rnd.randrange(50000)}.example.com/i/{rnd.randrange(10**6)}.png".encode())
    listed = matcher.listed
    hits = sum(1 for u in pool if listed(u))  # warm the caches
    assert hits == expected, (hits, expected)
    passes = 5
    start = time.perf_counter()
    for _ in range(passes):
        for u in pool:
            listed(u)
    elapsed = time.perf_counter() - start
    peak = _vm_hwm_mb(os.getpid())
    print(
        json.dumps(
            {
                "decisions_per_s": passes * len(pool) / elapsed,
                "rss_mb": peak,
                "rss_loaded_mb": rss_loaded / 2**20,
                "hits": hits,
                "expected": expected,
            }
        )
    )


def matcher_1m(d: Path, n: int = 1_000_000) -> dict:
    """Build a 1M-entry list (pages, prefixes, hosts) as a node state file, then measure."""
    exprs, hosts = [], []
    for i in range(n):
        host = f"h{i}.test"
        hosts.append(host)
        if i % 4 == 0:
            exprs.append(host + "/")
        elif i % 4 == 1:
            exprs += [f"{host}/d{i}/s", f"{host}/d{i}/s/"]
        else:
            exprs.append(f"{host}/p/{i}.html")
    snap = snapshot_from_expressions(exprs, hosts, seq=1, list_key=os.urandom(16), created=0)
    del exprs, hosts
    StateDir(d / "state1m").install(snap)
    del snap
    out = subprocess.run(
        [sys.executable, __file__, "--matcher-1m-child", str(d / "state1m"), str(n)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode:
        raise RuntimeError(f"matcher child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--skip-squidguard", action="store_true")
    ap.add_argument("--matcher-1m-child", nargs=2)
    a = ap.parse_args()
    if a.matcher_1m_child:
        matcher_1m_child(a.matcher_1m_child[0], int(a.matcher_1m_child[1]))
        return
    d = Path(tempfile.mkdtemp(prefix="childsafe-bench-"))
    try:
        entries, domains, urls = gen_list(a.entries)
        requests = gen_requests(a.requests, a.entries)
        StateDir(d / "state").install(build_snapshot(entries, seq=1, list_key=os.urandom(16), created=0))
        print(
            f"list: {len(entries)} entries; traffic: {len(requests)} requests, "
            f"{sum(e for _, e in requests)} listed",
            flush=True,
        )
        ours_lines = [f"{i % 64} {u} {EXTRAS}\n".encode() for i, (u, _) in enumerate(requests)]
        helper = [
            sys.executable,
            "-m",
            "childsafe.block.squid",
            "--state",
            str(d / "state"),
            "--warning-url",
            WARNING,
        ]
        ours = run_helper(helper, ours_lines, f"999 http://warmup.test/ {EXTRAS}\n".encode(), d)
        o_miss, o_fb = score(ours["answers"], requests)
        ours_ups = len(requests) / ours["seconds"]
        print(
            f"ours:       {ours_ups:>10,.0f} URLs/s  peak RSS {ours['rss_mb']:.1f} MB  "
            f"misses {o_miss}  false blocks {o_fb}",
            flush=True,
        )
        ours_warm = len(requests) / ours["seconds_warm"]
        print(f"ours, warm caches (second pass): {ours_warm:>10,.0f} URLs/s", flush=True)
        result = {
            "ours_urls_per_s": round(ours_ups),
            "ours_urls_per_s_warm": round(ours_warm),
            "ours_rss_mb": round(ours["rss_mb"], 1),
            "misses": o_miss,
            "false_blocks": o_fb,
        }
        if not a.skip_squidguard and os.path.exists(SQUIDGUARD):
            conf = squidguard_setup(d, domains, urls)
            sg_lines = [f"{u} {EXTRAS}\n".encode() for u, _ in requests]
            sg = run_helper(
                [SQUIDGUARD, "-c", str(conf)], sg_lines, f"http://warmup.test/ {EXTRAS}\n".encode(), d
            )
            s_miss, s_fb = score(sg["answers"], requests)
            sg_ups = len(requests) / sg["seconds"]
            print(
                f"squidGuard: {sg_ups:>10,.0f} URLs/s  peak RSS {sg['rss_mb']:.1f} MB  "
                f"misses {s_miss}  false blocks {s_fb}",
                flush=True,
            )
            result.update(
                squidguard_urls_per_s=round(sg_ups),
                squidguard_rss_mb=round(sg["rss_mb"], 1),
                squidguard_misses=s_miss,
                squidguard_false_blocks=s_fb,
                ratio_vs_squidguard=round(ours_ups / sg_ups, 2),
                ratio_vs_squidguard_warm=round(ours_warm * sg["seconds_warm"] / len(requests), 2),
            )
            print(
                f"ratio ours/squidGuard: {ours_ups / sg_ups:.2f} (cold caches), "
                f"{result['ratio_vs_squidguard_warm']:.2f} (second pass, both)",
                flush=True,
            )
        else:
            result.update(squidguard_urls_per_s=None, squidguard_misses=None, ratio_vs_squidguard=None)
            print("squidGuard not run", flush=True)
        m = matcher_1m(d)
        print(
            f"matcher, 1,000,000 entries: {m['decisions_per_s']:,.0f} decisions/s, "
            f"peak RSS {m['rss_mb']:.1f} MB (list loaded: {m['rss_loaded_mb']:.1f} MB)",
            flush=True,
        )
        result.update(
            decisions_per_s_1m=round(m["decisions_per_s"]),
            rss_mb_1m=round(m["rss_mb"], 1),
            rss_loaded_mb_1m=round(m["rss_loaded_mb"], 1),
        )
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
