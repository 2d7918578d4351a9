#!/usr/bin/env python3
"""Checks for the fault tests (tests/cli/faults.bats).

  check.py inventory ROOT            prints "sha256  path" of every payload
                                     file (a bag's own files left out)
  check.py once ROOT INVENTORY       each file of INVENTORY exactly once, with
                                     its content, at its path, under data/ or
                                     in create's staging folder; nothing else
  check.py whole BAG OLD NEW         no tag file of BAG is half-written: each
                                     payload manifest and bag-info.txt is OLD's
                                     or NEW's copy, each tag manifest is OLD's
                                     or whole (every line a full digest of a
                                     file that is there), premis.xml is
                                     well-formed, no temporary file is left"""
import hashlib, os, re, sys
import xml.dom.minidom

STAGING = ".kist-bagging.data"
OWN = re.compile(r"^(bagit\.txt|bag-info\.txt|(tag)?manifest-[\w-]+\.txt|\.kist-bagging(\.tmp)?)$")
HEXLEN = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
          "sha3256": 64, "sha3512": 128, "blake2b512": 128}


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def inventory(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for f in fns:
            full = os.path.join(dp, f)
            rel = os.path.relpath(full, root)
            if ("/" not in rel and OWN.match(rel)) or rel.startswith(("metadata/", ".kist-bagging.d/")):
                continue
            out[rel] = sha(full)
    return out


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def whole(bag, old, new):
    for dp, dns, fns in os.walk(bag):
        for f in fns:
            if ".kist-tmp." in f:
                fail("temporary file left: %s" % os.path.join(dp, f))
    for name in sorted(os.listdir(bag)):
        if not os.path.isfile(os.path.join(bag, name)):
            continue
        cur = read(os.path.join(bag, name))
        if cur is None:
            continue
        if name.startswith("manifest-") or name in ("bag-info.txt", "bagit.txt"):
            if cur != read(os.path.join(old, name)) and cur != read(os.path.join(new, name)):
                fail("%s is neither the old one nor the one a good run writes:\n%s" % (name, cur[-300:]))
        elif name.startswith("tagmanifest-"):
            if cur == read(os.path.join(old, name)):
                continue
            alg = name[len("tagmanifest-"):-len(".txt")]
            if not cur.endswith(b"\n"):
                fail("%s does not end with a newline: half-written" % name)
            for line in cur.decode().splitlines():
                m = re.match(r"^([0-9a-f]+)  (.+)$", line)
                if not m or len(m.group(1)) != HEXLEN.get(alg, len(m.group(1))):
                    fail("%s: line %r is not whole" % (name, line))
                if not os.path.exists(os.path.join(bag, m.group(2))):
                    fail("%s lists %s, which is not there" % (name, m.group(2)))
    premis = os.path.join(bag, "metadata", "premis.xml")
    if os.path.exists(premis):
        try:
            xml.dom.minidom.parse(premis)
        except Exception as e:
            fail("metadata/premis.xml is not well-formed: %s" % e)


def once(root, inv):
    want = {}
    for line in open(inv):
        d, rel = line.rstrip("\n").split("  ", 1)
        want[rel] = d
    got = inventory(root)
    for rel, d in want.items():
        places = [p for p in (rel, "data/" + rel, STAGING + "/" + rel) if p in got]
        if len(places) != 1:
            fail("%s is at %r: want exactly one place" % (rel, places))
        if got[places[0]] != d:
            fail("%s changed" % places[0])
    if len(got) != len(want):
        fail("%d payload files, the collection had %d" % (len(got), len(want)))


cmd = sys.argv[1]
if cmd == "inventory":
    for rel, d in sorted(inventory(sys.argv[2]).items()):
        print("%s  %s" % (d, rel))
elif cmd == "once":
    once(sys.argv[2], sys.argv[3])
elif cmd == "whole":
    whole(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    fail("unknown command " + cmd)
