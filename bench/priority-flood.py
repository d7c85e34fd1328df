#!/usr/bin/env python3
"""Closed-loop clients at two priority levels against one MiniLM model, bounded in time; prints per level what was sent
and how it was answered. A by-hand check of the priority exchange (README, "Guards"), not part of bench/run.sh.

    python3 bench/priority-flood.py PORT MODEL LOW_CLIENTS HIGH_CLIENTS SECONDS

Each client sends one 128-token request at a time to 127.0.0.1:PORT and sends the next as soon as it is answered, a
503 included, for SECONDS (and at most 100,000 requests). Without TENANTS, the low clients ask for level 2 and the
high ones for level 1 (parameters.priority). With TENANTS=1, they send no level and the keys of README's worked
example instead ("trial-key-1" low, "acme-secret-key" high), so each runs at its tenant's levels. Needs `requests`.
"""
import json
import os
import sys
import threading
import time

import requests

KEYS = {1: "acme-secret-key", 2: "trial-key-1"}
TENANTS = bool(os.environ.get("TENANTS"))


def body(level):
    ids = [101] + [2000 + i % 500 for i in range(126)] + [102]
    inputs = [{"name": name, "datatype": "INT64", "shape": [1, 128], "data": data} for name, data in
              (("input_ids", ids), ("attention_mask", [1] * 128), ("token_type_ids", [0] * 128))]
    return json.dumps({"parameters": {} if TENANTS else {"priority": level}, "inputs": inputs,
                       "outputs": [{"name": "last_hidden_state", "parameters": {"binary_data": True}}]})


def main():
    port, model = int(sys.argv[1]), sys.argv[2]
    low, high, seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    url = "http://127.0.0.1:%d/v2/models/%s/infer" % (port, model)
    counts = {1: {}, 2: {}}
    lock = threading.Lock()
    deadline = time.time() + seconds

    def client(level):
        session = requests.Session()
        if TENANTS:
            session.headers["Authorization"] = "Bearer " + KEYS[level]
        request = body(level)
        for _ in range(100_000):
            if time.time() >= deadline:
                break
            try:
                code = session.post(url, data=request, headers={"Content-Type": "application/json"},
                                    timeout=30).status_code
            except requests.RequestException:
                code = -1
            with lock:
                counts[level][code] = counts[level].get(code, 0) + 1

    threads = [threading.Thread(target=client, args=(2,)) for _ in range(low)]
    threads += [threading.Thread(target=client, args=(1,)) for _ in range(high)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for level in (1, 2):
        c = counts[level]
        total = sum(c.values())
        other = {k: v for k, v in c.items() if k not in (200, 503)}
        print("level %d: sent %d, 200: %d (%.1f%%), 503: %d, other: %s"
              % (level, total, c.get(200, 0), 100.0 * c.get(200, 0) / max(1, total), c.get(503, 0), other))


if __name__ == "__main__":
    main()
