#!/usr/bin/env python3
"""The legitimate user of bench/flood.sh: logs in and refreshes from its own loopback address
(127.0.0.2 by default, so the server's per-IP limits see another client than the flood) for a
fixed time, and prints the latency percentiles as one JSON line.

    flood_client.py PORT SECONDS [SOURCE_IP]
"""
import http.client
import json
import statistics
import sys
import time

PASSWORD = "legitimate user password"


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def post(conn, path, body):
    started = time.perf_counter()
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    res = conn.getresponse()
    data = res.read()
    elapsed = (time.perf_counter() - started) * 1000.0
    return res.status, json.loads(data or b"{}"), elapsed


def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    source = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.2"
    accounts = [f"legit{i}" for i in range(10)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    logins, refreshes, errors = [], [], {}
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        # One login a second (per account: one each 10 s, well inside the account limit), and
        # four refreshes of the new session in between, chained.
        tick = time.monotonic()
        status, body, ms = post(conn, "/login", {"username": accounts[i % len(accounts)], "password": PASSWORD})
        i += 1
        if status != 200:
            errors[f"login {status}"] = errors.get(f"login {status}", 0) + 1
            time.sleep(0.2)
            continue
        logins.append(ms)
        token = body["data"]["refreshToken"]
        for _ in range(4):
            time.sleep(0.2)
            status, body, ms = post(conn, "/refresh-token", {"refreshToken": token})
            if status != 200:
                errors[f"refresh {status}"] = errors.get(f"refresh {status}", 0) + 1
                break
            refreshes.append(ms)
            token = body["data"]["refreshToken"]
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    print(json.dumps({
        "logins": len(logins),
        "login_p50_ms": round(statistics.median(logins), 1) if logins else None,
        "login_p99_ms": round(percentile(logins, 99), 1),
        "refreshes": len(refreshes),
        "refresh_p50_ms": round(statistics.median(refreshes), 1) if refreshes else None,
        "refresh_p99_ms": round(percentile(refreshes, 99), 1),
        "errors": errors,
    }))


if __name__ == "__main__":
    main()
