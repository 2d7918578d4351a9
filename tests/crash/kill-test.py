#!/usr/bin/env python3
"""Crash safety: kills `kist bag create` (in place) or `kist bag update` with
SIGKILL at random moments and checks what the kill left.

  kill-test.py KIST create|update ROUNDS [FILES]

Each round starts from a fresh copy of a collection of FILES files (default
3000), kills the command 1 to 3 times in a row (each run carries on from what
the killed ones left), and after every kill checks that each original payload
file exists exactly once with its content: at its old path, under data/, or in
create's staging folder (the one place a move passes through). Then the same
command is run to the end and `kist bag validate` must call the bag valid, with
every original file under data/. Prints a summary line on stdout; any broken
promise is an AssertionError naming the round and the file."""
import hashlib, os, random, shutil, signal, subprocess, sys, time

kist, mode, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
nfiles = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
seed = int(os.environ.get("KIST_CRASH_SEED", os.getpid()))
random.seed(seed)
STAGING = ".kist-bagging.data"   # create's staging folder (src/bagit/create.c)
TAGS = {"bagit.txt", "bag-info.txt", ".kist-bagging", ".kist-bagging.tmp"}


def make_collection(root, n):
    """n files over nested folders: empty, small, a few of 200 KB; names with
    spaces, percent signs and non-ASCII letters. No top-level 'data'."""
    os.makedirs(root)
    for i in range(n):
        d = os.path.join(root, "box%02d" % (i % 37), "folder %d" % (i % 5), "caf\u00e9" if i % 11 == 0 else "plain")
        os.makedirs(d, exist_ok=True)
        size = 0 if i % 13 == 0 else 200_000 if i % 500 == 7 else random.randint(1, 2000)
        name = "file %04d%s.bin" % (i, " 100%" if i % 17 == 0 else "")
        with open(os.path.join(d, name), "wb") as f:
            f.write(random.randbytes(size))
    with open(os.path.join(root, "top level.txt"), "wb") as f:
        f.write(b"at the top\n")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def inventory(root, skip_tags=True):
    """{relative path: sha256} of every regular file but the bag's own."""
    out = {}
    for dp, dns, fns in os.walk(root):
        for f in fns:
            full = os.path.join(dp, f)
            rel = os.path.relpath(full, root)
            if skip_tags and ("/" not in rel and (rel in TAGS or rel.startswith(("manifest-", "tagmanifest-", ".kist-"))
                                                  and not os.path.isdir(full))):
                continue
            if skip_tags and rel.startswith(("metadata/", ".kist-bagging.d/")):
                continue
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            out[rel] = digest(full)
    return out


def check_once(root, want, where):
    """Every original file exactly once, unchanged, at its old path, under
    data/ or in the staging folder; and nothing else in the payload."""
    got = inventory(root)
    for rel, d in want.items():
        places = [p for p in (rel, "data/" + rel, STAGING + "/" + rel) if p in got]
        assert len(places) == 1, "%s: %s is at %r (want exactly one place)" % (where, rel, places)
        assert got[places[0]] == d, "%s: %s changed at %s" % (where, rel, places[0])
    extra = len(got) - len(want)
    assert extra == 0, "%s: %d files more than the collection had: %r" % (
        where, extra, sorted(set(got) - {p for r in want for p in (r, "data/" + r, STAGING + "/" + r)})[:5])


def whole_bag(root):
    return os.path.exists(os.path.join(root, "bagit.txt")) and not any(
        f.startswith(".kist-bagging") for f in os.listdir(root))


def run(args, env=None):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return r.returncode, r.stderr.decode(errors="replace")


def validate(bag, where):
    rc, err = run([kist, "bag", "validate", "-q", bag])
    assert rc == 0, "%s: kist bag validate exit %d: %s" % (where, rc, err[:2000])
    if os.path.exists(os.path.join(bag, "metadata", "premis.xml")):
        rc, err = run([kist, "premis", "validate", bag])
        assert rc == 0, "%s: kist premis validate exit %d: %s" % (where, rc, err[:2000])


# in memory when possible: a kill tests the order of the steps, not the disk
if os.access("/dev/shm", os.W_OK) and not os.environ.get("KIST_CRASH_ON_DISK"):
    import atexit, tempfile
    work = tempfile.mkdtemp(prefix="kist-crash-", dir="/dev/shm")
    atexit.register(shutil.rmtree, work, True)
    os.chdir(work)
work = os.getcwd()
template = os.path.join(work, "template")
make_collection(template, nfiles)
if mode == "update":
    # a bag, then changes the update has to take in: files added, removed, changed
    rc, err = run([kist, "bag", "create", "-q", "-a", "md5", template])
    assert rc == 0, err
    rnd = random.Random(seed + 1)
    payload = sorted(inventory(os.path.join(template, "data")))
    for rel in rnd.sample(payload, nfiles // 20):
        os.unlink(os.path.join(template, "data", rel))
    for rel in rnd.sample([p for p in payload if os.path.exists(os.path.join(template, "data", p))], nfiles // 20):
        with open(os.path.join(template, "data", rel), "ab") as f:
            f.write(b"changed")
    os.makedirs(os.path.join(template, "data", "new"), exist_ok=True)
    for i in range(nfiles // 20):
        with open(os.path.join(template, "data", "new", "added %d" % i), "wb") as f:
            f.write(rnd.randbytes(rnd.randint(0, 3000)))
    want = inventory(os.path.join(template, "data"))
    args = [kist, "bag", "update", "-q", "-j", "2", "-a", "sha256", "--remove-algorithm", "md5", "bag"]
else:
    want = inventory(template)
    args = [kist, "bag", "create", "-q", "-j", "2", "bag"]

# how long one whole run takes, to spread the kills over it (the second of
# two runs: the first pays for a cold cache)
for attempt in range(2):
    shutil.copytree(template, "probe", symlinks=True)
    t0 = time.monotonic()
    rc, err = run(args[:-1] + ["probe"])
    full = time.monotonic() - t0
    assert rc == 0, "probe run: exit %d: %s" % (rc, err)
    shutil.rmtree("probe")

kills = finished_early = 0
for r in range(rounds):
    where = "seed %d round %d" % (seed, r)
    shutil.rmtree("bag", ignore_errors=True)
    shutil.copytree(template, "bag", symlinks=True)
    done = False
    for k in range(random.randint(1, 3)):
        # killed after the journal was removed (exiting): the bag is whole,
        # and the command rightly refuses to bag it again
        if mode == "create" and k > 0 and whole_bag("bag"):
            done = True
            break
        env = dict(os.environ)
        slow = mode == "create" and random.random() < 0.3
        if slow:
            env["KIST_TEST_MOVE_DELAY_US"] = "500"   # widen the window of the moves
        p = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0, full * (3 if slow else 0.9)))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            kills += 1
        else:
            assert p.returncode == 0, "%s: a run that was not killed exited %d" % (where, p.returncode)
            finished_early += 1
            done = True
        if mode == "create":
            check_once("bag", want, where + " kill %d" % k)
        else:
            got = inventory(os.path.join("bag", "data"))
            assert got == want, "%s kill %d: data/ changed: %r" % (where, k, sorted(set(got.items()) ^ set(want.items()))[:4])
        if done:
            break
    if mode == "create" and whole_bag("bag"):
        done = True
    # the same command again finishes the job
    if not done:
        rc, err = run(args)
        assert rc == 0, "%s: rerun exit %d: %s" % (where, rc, err[:2000])
    validate("bag", where)
    got = inventory(os.path.join("bag", "data"))
    assert got == want, "%s: after the rerun data/ differs: %r" % (where, sorted(set(got.items()) ^ set(want.items()))[:4])
    if mode == "create":
        check_once("bag", want, where + " after rerun")
        assert not any(f.startswith(".kist-bagging") for f in os.listdir("bag")), os.listdir("bag")
    else:
        names = os.listdir("bag")
        assert "manifest-sha256.txt" in names and "manifest-md5.txt" not in names, names
        assert not [f for f in names if ".kist-tmp." in f], names
print("%s: %d rounds, %d kills, %d runs ended before their kill, %d files, one run %.2f s, seed %d" % (
    mode, rounds, kills, finished_early, len(want), full, seed))
