#!/usr/bin/env python3
"""Count how many suricata-verify checks opsdeck's EVE output passes.

For every capture under CORPUS/suricata-verify with expected output in
CORPUS/suricata-verify/expected/<capture>/<test>__test.yaml, run
`opsdeck analyze` once and evaluate each `filter` check whose match names an
event type opsdeck claims (flow, dns, tls, http, ftp, ssh, rdp, quic) the way
suricata-verify's run.py does: count the events whose every matched field is
equal, compare with count (or lt/gt).

The test's Suricata configuration is mirrored where opsdeck has the setting:
the EVE community-id-seed (--community-id-seed) and the DNS record version
(--dns-version), from the test.yaml's outputs or its suricata.yaml; and
--show-secrets, because Suricata logs what a client sent in clear. Out of
scope, because opsdeck cannot be configured to do what they test: checks on
flow.alerted being true in a test that brings its own signatures (opsdeck
has its own rules, not Suricata's), flow.action (IPS drop), and the
"bypassed" flow state (capture bypass).

usage: scripts/svcheck.py [-v] [OPSDECK_BINARY] [CORPUS_DIR]
"""
import json
import os
import re
import subprocess
import sys

import yaml

SCOPE = {"flow", "dns", "tls", "http", "ftp", "ssh", "rdp", "quic"}


def find_value(name, obj):
    for part in name.split("."):
        if part == "__len":
            return len(obj) if isinstance(obj, (list, dict, str)) else None
        m = re.match(r"^(.*)\[(\d+)\]$", part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
        if index is not None:
            if not isinstance(obj, list) or index >= len(obj):
                return None
            obj = obj[index]
    return obj


def match(event, spec):
    for key, expected in spec.items():
        if key == "has-key":
            if find_value(expected, event) is None:
                return False
        elif key == "not-has-key":
            if find_value(expected, event) is not None:
                return False
        else:
            val = find_value(key, event)
            if isinstance(expected, str) and not isinstance(val, str) and val is not None:
                val = str(val).lower() if isinstance(val, bool) else str(val)
            if val != expected:
                return False
    return True


def in_scope(check):
    f = check.get("filter")
    if not f or f.get("filename", "eve.json") != "eve.json":
        return False
    if "lt-version" in f or "version" in f:
        return False
    typ = (f.get("match") or {}).get("event_type")
    return typ in SCOPE


def mirrored_args(case_dir, test):
    """opsdeck flags for the settings of the test's Suricata configuration."""
    args = ["--show-secrets"]
    seed = dns_version = None
    docs = []
    for name in (test, test.replace("__test.yaml", "__suricata.yaml")):
        path = os.path.join(case_dir, name)
        if os.path.exists(path):
            with open(path) as fh:
                text = fh.read()
            docs.append(yaml.safe_load(text.replace("%YAML 1.1", "")) or {})
    for d in docs:
        for out in d.get("outputs") or []:
            eve = out.get("eve-log") if isinstance(out, dict) else None
            if not isinstance(eve, dict):
                continue
            if "community-id-seed" in eve:
                seed = eve["community-id-seed"]
            for t in eve.get("types") or []:
                if isinstance(t, dict) and isinstance(t.get("dns"), dict) and "version" in t["dns"]:
                    dns_version = t["dns"]["version"]
    if seed is not None:
        args += ["--community-id-seed", str(seed)]
    if dns_version in (2, 3):
        args += ["--dns-version", str(dns_version)]
    return tuple(args)


def mirrorable(case_dir, test, f):
    m = f.get("match") or {}
    rules = os.path.exists(os.path.join(case_dir, test.replace("__test.yaml", "__test.rules")))
    if rules and m.get("flow.alerted") is True:
        return False
    if "flow.action" in m or m.get("flow.state") == "bypassed":
        return False
    return True


def run_check(events, f):
    n = sum(1 for e in events if match(e, f.get("match") or {}))
    if "count" in f:
        return n == f["count"], n
    if "lt" in f:
        return n < f["lt"], n
    if "gt" in f:
        return n > f["gt"], n
    return n > 0, n


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv[1:]
    binary = args[0] if args else "./opsdeck"
    corpus = args[1] if len(args) > 1 else "testdata/corpus"
    sv = os.path.join(corpus, "suricata-verify")
    expected = os.path.join(sv, "expected")
    total = passed = 0
    per_type = {}
    for case in sorted(os.listdir(expected)):
        pcap = next((os.path.join(sv, case + ext) for ext in (".pcap", ".pcapng")
                     if os.path.exists(os.path.join(sv, case + ext))), None)
        if pcap is None:
            continue
        case_dir = os.path.join(expected, case)
        tests = [t for t in sorted(os.listdir(case_dir)) if t.endswith("__test.yaml")]
        checks = []
        for t in tests:
            with open(os.path.join(case_dir, t)) as fh:
                cfg = yaml.safe_load(fh) or {}
            for c in cfg.get("checks") or []:
                if in_scope(c) and mirrorable(case_dir, t, c["filter"]):
                    checks.append((t, c["filter"]))
        if not checks:
            continue
        runs = {}
        for t, f in checks:
            flags = mirrored_args(case_dir, t)
            if flags not in runs:
                out = subprocess.run([binary, "analyze", *flags, "-r", pcap], capture_output=True, text=True)
                runs[flags] = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
            events = runs[flags]
            ok, n = run_check(events, f)
            typ = f["match"]["event_type"]
            p = per_type.setdefault(typ, [0, 0])
            p[1] += 1
            total += 1
            if ok:
                p[0] += 1
                passed += 1
            elif verbose:
                print("FAIL %s/%s: got %d for %s" % (case, t, n, json.dumps(f, default=str)))
    print("suricata-verify checks passed: %d/%d" % (passed, total))
    for typ in sorted(per_type):
        print("  %-5s %d/%d" % (typ, per_type[typ][0], per_type[typ][1]))


if __name__ == "__main__":
    main()
