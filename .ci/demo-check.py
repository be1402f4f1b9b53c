#!/usr/bin/env python3
"""Watches a demo started by the README's first command and fails unless it gets where a
newcomer would see it get: the server answers, the tender's sealed-bid round reaches its
signed opening record, and the land listing closes.

Usage: demo-check.py BASE_URL LOG_FILE TIMEOUT_SECONDS
"""
import json
import sys
import time
import urllib.error
import urllib.request

base, log_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
started = time.monotonic()


def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as resp:
        return json.load(resp)


def fail(why):
    print(f"demo-check: FAILED: {why}")
    print("demo-check: the demo's output:")
    try:
        with open(log_file, encoding="utf-8", errors="replace") as f:
            sys.stdout.write(f.read()[-20000:])
    except OSError as e:
        print(e)
    sys.exit(1)


def wait(what, probe):
    while True:
        try:
            found = probe()
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            found = None
        if found:
            print(f"demo-check: {what} after {time.monotonic() - started:.0f} s: {found}")
            return found
        if time.monotonic() - started > timeout:
            fail(f"no {what} within {timeout:.0f} s")
        time.sleep(2)


def trade_of(kind):
    trades = get("/api/v1/trades?limit=50")["trades"]
    return next(t["id"] for t in trades if t["kind"] == kind)


def healthy():
    return get("/healthz").get("status") == "ready" and "ready"


def opened():
    tender = trade_of("construction_tender")
    opening = get(f"/api/v1/trades/{tender}/opening")["opening"]
    if opening and opening.get("record") and opening.get("signature"):
        record = opening["record"]
        return f"tender {tender}: {record['outcome']}, {record['valid_bids']} valid bids, signed by {opening['key_id']}"
    return None


def land_closed():
    land = trade_of("land_use_right")
    result = get(f"/api/v1/trades/{land}/sale")["result"]
    return result and f"land listing {land}: {json.dumps(result, ensure_ascii=False)}"


wait("server answering", healthy)
wait("signed opening record", opened)
wait("closed land sale", land_closed)
print("demo-check: OK")
