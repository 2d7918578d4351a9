# kist bag create: RFC 8493 bags, in place and to a destination.
load helpers

# --- helpers -------------------------------------------------------------------

# A small collection: nested folders, a hidden file, a top-level "data".
make_source() {
	mkdir -p "$1/docs/2024" "$1/data" "$1/img"
	printf 'hello\n' >"$1/readme.txt"
	printf 'report' >"$1/docs/2024/report.txt"
	printf 'secret' >"$1/.hidden"
	printf 'in data' >"$1/data/inner.txt"
	head -c 5000 /dev/urandom >"$1/img/pic.bin"
	: >"$1/empty-file"
}

# listing DIR: "path<TAB>sha256" of every file below DIR, sorted; plus
# directories and symlinks, so that any change shows.
listing() {
	python3 - "$1" <<'EOF'
import hashlib, os, sys
root = sys.argv[1]
out = []
for dp, dns, fns in os.walk(root):
    for d in dns:
        p = os.path.join(dp, d)
        out.append("D " + os.path.relpath(p, root) + (" -> " + os.readlink(p) if os.path.islink(p) else ""))
    for f in fns:
        p = os.path.join(dp, f)
        rel = os.path.relpath(p, root)
        if os.path.islink(p):
            out.append("L " + rel + " -> " + os.readlink(p))
        elif not os.path.isfile(p):
            out.append("S %s %o" % (rel, os.lstat(p).st_mode))
        else:
            st = os.stat(p)
            out.append("F %s %o %s" % (rel, st.st_mode, hashlib.sha256(open(p, "rb").read()).hexdigest()))
for l in sorted(out):
    print(l.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
EOF
}

# payload_set DIR: "rel<TAB>sha256" of every payload file of a directory that
# is a source, a bag, or anything in between (an interrupted in-place run):
# files in the staging directory, or in data/ once it is kist's, are named
# relative to it; tag files and kist's own files are left out.
payload_set() {
	python3 - "$1" <<'EOF'
import hashlib, os, re, sys
root = sys.argv[1]
staging = os.path.join(root, ".kist-bagging.data")
journal = os.path.join(root, ".kist-bagging")
phase = None
if os.path.isfile(journal):
    m = re.search(r"^phase (\w+)$", open(journal).read(), re.M)
    phase = m.group(1) if m else "?"
ours = not os.path.isdir(staging) and (phase == "move" or (phase is None and os.path.exists(os.path.join(root, "bagit.txt"))))
tag = re.compile(r"^(bagit\.txt|bag-info\.txt|(tag)?manifest-\w+\.txt|\.kist-bagging(\.tmp)?|\.\w[\w.-]*\.kist-tmp\.\d+)$")
out = []
for dp, dns, fns in os.walk(root):
    for f in fns:
        p = os.path.join(dp, f)
        rel = os.path.relpath(p, root)
        if rel.startswith(".kist-bagging.d/"):
            continue
        if ("/" not in rel and tag.match(rel)) or rel == "metadata/premis.xml":
            continue
        if rel.startswith(".kist-bagging.data/"):
            rel = rel[len(".kist-bagging.data/"):]
        elif ours and rel.startswith("data/"):
            rel = rel[5:]
        out.append(rel + "\t" + hashlib.sha256(open(p, "rb").read()).hexdigest())
for l in sorted(out):
    print(l)
EOF
}

# check_bag BAG ALG...: every manifest line matches its file, every file under
# data/ is in each manifest, every tag manifest line matches; done with an
# independent reader (python's hashlib), and with kist checksum -c.
check_bag() {
	local bag=$1
	shift
	python3 - "$bag" "$@" <<'EOF' || return 1
import hashlib, os, sys, urllib.parse
bag = sys.argv[1]
names = {"sha3-256": "sha3_256", "sha3-512": "sha3_512", "blake2b-512": "blake2b"}
files = set()
for dp, dns, fns in os.walk(os.path.join(bag, "data")):
    for f in fns:
        files.add(os.path.relpath(os.path.join(dp, f), bag))
def decode(p):
    return p.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
def check(name, alg, want_all):
    seen = set()
    for line in open(os.path.join(bag, name), "rb").read().decode("utf-8").split("\n"):
        if not line:
            continue
        hexd, path = line.split("  ", 1)
        path = decode(path)
        assert path not in seen, "twice: " + path
        seen.add(path)
        h = hashlib.new(alg, open(os.path.join(bag, path), "rb").read()).hexdigest()
        assert h == hexd, "%s: %s mismatch for %r" % (name, alg, path)
    if want_all:
        assert seen == files, "%s lists %r, data/ holds %r" % (name, sorted(seen ^ files)[:5], len(files))
    return seen
for a in sys.argv[2:]:
    bn = a.replace("-", "").replace("blake2b512", "blake2b512")
    check("manifest-%s.txt" % bn, names.get(a, a), True)
    tags = check("tagmanifest-%s.txt" % bn, names.get(a, a), False)
    want = {"bagit.txt", "bag-info.txt"} | {"manifest-%s.txt" % x.replace("-", "") for x in sys.argv[2:]}
    assert want <= tags, "tag manifest lacks %r" % (want - tags)
EOF
	for a in "$@"; do
		local bn=${a//-/}
		(cd "$bag" && "$KIST" checksum -q -c "manifest-$bn.txt" && "$KIST" checksum -q -c "tagmanifest-$bn.txt") || return 1
	done
	if "$KIST" bag validate -h >/dev/null 2>&1 && "$KIST" bag validate -h | grep -q BAG &&
		! "$KIST" bag validate -h | grep -q "not available"; then
		"$KIST" bag validate "$bag" || return 1
	fi
}

# --- in place -----------------------------------------------------------------------

@test "in place: the payload moves into data/, a top-level data becomes data/data, the bag checks" {
	make_source src
	payload_set src >before
	krun 0 bag create src
	expect_output "src: bagged 6 files, 5025 bytes (sha512)"
	[ -f src/data/data/inner.txt ]
	[ -f src/data/.hidden ]
	[ -f src/data/empty-file ]
	[ ! -e src/readme.txt ]
	[ ! -e src/.kist-bagging ] && [ ! -e src/.kist-bagging.data ] && [ ! -e src/.kist-bagging.d ]
	payload_set src >after
	diff before after
	check_bag src sha512
	# the top directory holds the bag's files and data/, nothing else
	run ls -A src
	[ "$output" = "bag-info.txt
bagit.txt
data
manifest-sha512.txt
metadata
tagmanifest-sha512.txt" ] || flunk "top directory"
}

@test "in place: moved by rename, not copied (same inodes)" {
	make_source src
	ino=$(stat -c %i src/img/pic.bin)
	krun 0 bag create -q src
	expect_no_stdout
	[ "$(stat -c %i src/data/img/pic.bin)" = "$ino" ]
}

@test "bagit.txt is byte-exact BagIt 1.0 in UTF-8" {
	make_source src
	krun 0 bag create src
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >want
	cmp want src/bagit.txt
}

@test "bag-info: user elements first in the order given, then the automatic ones" {
	make_source src
	printf 'Contact-Name: Ada\nExternal-Description: two\n  lines\n' >info.txt
	krun 0 bag create --info 'Source-Organization: Harbour Museum' --info-file info.txt \
		--info 'Contact-Email: ada@example.org' src
	labels=$(cut -d: -f1 src/bag-info.txt | grep -v '^ ' | tr '\n' ' ')
	[ "$labels" = "Source-Organization Contact-Name External-Description Contact-Email Bagging-Date Bag-Size Payload-Oxum Bag-Software-Agent " ] ||
		flunk "labels: $labels"
	grep -qx "Bagging-Date: $(date +%Y-%m-%d)" src/bag-info.txt
	grep -qx 'Payload-Oxum: 5025.6' src/bag-info.txt
	grep -qx "Bag-Software-Agent: kist $("$KIST" --version | awk '{print $NF}')\( <.*>\)\?" src/bag-info.txt
	grep -qx 'Source-Organization: Harbour Museum' src/bag-info.txt
	grep -qx 'Bag-Size: 5.0 KB' src/bag-info.txt
	grep -qx 'Contact-Name: Ada' src/bag-info.txt
	# the continuation line of the info file is kept as part of the value
	grep -A1 '^External-Description: two' src/bag-info.txt | grep -q 'lines' 
	check_bag src sha512
}

@test "bag-info: a user Bagging-Date is kept; Payload-Oxum and Bag-Size may not be given" {
	make_source src
	krun 0 bag create --info 'Bagging-Date: 2001-02-03' src
	grep -qx 'Bagging-Date: 2001-02-03' src/bag-info.txt
	[ "$(grep -c '^Bagging-Date' src/bag-info.txt)" -eq 1 ]
	make_source s2
	krun 2 bag create --info 'Payload-Oxum: 1.1' s2
	expect_stderr_has "Payload-Oxum is computed"
	krun 2 bag create --info 'bag-size: 1 KB' s2
	[ ! -e s2/data/readme.txt ] && [ -f s2/readme.txt ]
}

@test "bag-info: a 300-character value is folded, and reads back whole" {
	make_source src
	long=$(python3 -c 'print(" ".join("word%03d" % i for i in range(38)))')
	[ ${#long} -ge 300 ]
	krun 0 bag create --info "External-Description: $long" src
	# every line at most 79 characters; continuation lines indented
	! awk 'length($0) > 79' src/bag-info.txt | grep -q .
	grep -q '^External-Description: word000' src/bag-info.txt
	[ "$(grep -c '^[ 	]' src/bag-info.txt)" -ge 3 ]
	joined=$(python3 - src/bag-info.txt <<'EOF'
import sys, re
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"^External-Description: (.*?)\n(?=\S)", text, re.S | re.M)
print(re.sub(r"\n[ \t]+", " ", m.group(1)))
EOF
)
	[ "$joined" = "$long" ] || flunk "unfolded: $joined"
}

@test "--info with a malformed label is a usage error and nothing moves" {
	make_source src
	listing src >before
	krun 2 bag create --info 'no colon here' src
	expect_stderr_has "no ':'"
	krun 2 bag create --info ': empty label' src
	krun 2 bag create --info ' Lead: x' src
	krun 2 bag create --info 'Trail : x' src
	krun 2 bag create --info-file /nonexistent/info src
	printf 'Good: x\nbad line\n' >bad.txt
	krun 2 bag create --info-file bad.txt src
	listing src >after
	diff before after
}

@test "names with CR, LF and % are percent-encoded in the manifest, and only those" {
	mkdir src
	printf a >"src/per%cent"
	printf b >$'src/line\nbreak'
	printf c >$'src/car\rreturn'
	printf d >"src/sp ace#hash+plus"
	krun 0 bag create -a sha256 src
	grep -q '  data/per%25cent$' src/manifest-sha256.txt
	grep -q '  data/line%0Abreak$' src/manifest-sha256.txt
	grep -q '  data/car%0Dreturn$' src/manifest-sha256.txt
	grep -q '  data/sp ace#hash+plus$' src/manifest-sha256.txt
	[ "$(wc -l <src/manifest-sha256.txt)" -eq 4 ]
	check_bag src sha256
}

@test "several algorithms: a manifest and a tag manifest for each" {
	make_source src
	krun 0 bag create -a md5,sha256,sha512,blake2b src
	expect_output "src: bagged 6 files, 5025 bytes (md5, sha256, sha512, blake2b-512)"
	for a in md5 sha256 sha512 blake2b512; do
		[ -f "src/manifest-$a.txt" ] && [ -f "src/tagmanifest-$a.txt" ]
	done
	check_bag src md5 sha256 sha512 blake2b-512
	krun 2 bag create -a nosuch src
}

@test "names differing only by normalization or case are refused, nothing moves" {
	mkdir -p src/sub
	printf 1 >"src/caf$(printf '\xc3\xa9')"
	printf 2 >"src/cafe$(printf '\xcc\x81')"
	printf 3 >src/sub/Report.txt
	printf 4 >src/sub/REPORT.TXT
	printf 5 >src/unique
	listing src >before
	krun 1 bag create src
	expect_code create.name-clash
	expect_stderr_has "only by Unicode normalization"
	expect_stderr_has "sub/Report.txt: differs from sub/REPORT.TXT only by case"
	listing src >after
	diff before after
	krun 1 bag create src dest
	[ ! -e dest ]
}

@test "a symbolic link is refused with nothing moved; --follow-symlinks bags its target" {
	make_source src
	ln -s readme.txt src/link
	ln -s ../../outside.txt src/docs/out
	printf 'outside' >outside.txt
	listing src >before
	krun 1 bag create src
	expect_code create.symlink
	expect_stderr_has "link:"
	expect_stderr_has "docs/out:"
	listing src >after
	diff before after
	krun 2 bag create --follow-symlinks src
	krun 1 bag create src dest
	[ ! -e dest ]
	krun 0 bag create --follow-symlinks src dest
	expect_code create.symlink-outside
	[ -f dest/data/link ] && [ ! -L dest/data/link ]
	cmp dest/data/link src/readme.txt
	cmp dest/data/docs/out outside.txt
	check_bag dest sha512
}

@test "a symlink loop is refused even with --follow-symlinks" {
	make_source src
	ln -s loop2 src/loop1
	ln -s loop1 src/loop2
	krun 1 bag create --follow-symlinks src dest
	expect_code create.symlink-loop
	[ ! -e dest ]
}

@test "a FIFO is refused, nothing moved" {
	make_source src
	mkfifo src/docs/pipe
	listing src >before
	krun 1 bag create src
	expect_code create.special-file
	expect_stderr_has "docs/pipe: FIFO"
	listing src >after
	diff before after
	krun 1 bag create src dest
	[ ! -e dest ]
}

@test "a socket is refused, nothing moved" {
	make_source src
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' src/img/sock
	listing src >before
	krun 1 bag create src
	expect_code create.special-file
	expect_stderr_has "img/sock: socket"
	listing src >after
	diff before after
}

@test "a device is refused, nothing copied" {
	make_source src
	mknod src/docs/null c 1 3 2>/dev/null || skip "cannot make a device node here"
	krun 1 bag create src dest
	expect_code create.special-file
	expect_stderr_has "docs/null: device"
	[ ! -e dest ]
}

@test "SOURCE already a bag is refused; --force bags it whole as payload" {
	make_source src
	krun 0 bag create src
	listing src >before
	krun 1 bag create src
	expect_code create.already-bag
	krun 1 bag create src dest
	[ ! -e dest ]
	listing src >after
	diff before after
	krun 0 bag create --force src dest
	[ -f dest/data/bagit.txt ] && [ -f dest/data/data/readme.txt ]
	check_bag dest sha512
	krun 0 bag create --force src
	[ -f src/data/bagit.txt ] && [ -f src/data/data/data/inner.txt ]
	check_bag src sha512
}

@test "--exclude leaves files out by path or by name" {
	make_source src
	touch src/docs/.DS_Store src/Thumbs.db src/docs/2024/x.tmp
	krun 0 bag create --exclude .DS_Store --exclude 'docs/2024/*.tmp' src dest
	refute_stderr_has ".DS_Store"
	expect_stderr_has "Thumbs.db: operating system litter"
	[ ! -e dest/data/docs/.DS_Store ] && [ ! -e dest/data/docs/2024/x.tmp ]
	[ -f dest/data/Thumbs.db ]
	! grep -q DS_Store dest/manifest-sha512.txt
	check_bag dest sha512
}

@test "OS litter is a warning and is kept" {
	make_source src
	touch src/.DS_Store src/docs/._report.txt
	krun 0 bag create src
	expect_code create.os-litter
	[ -f src/data/.DS_Store ] && [ -f src/data/docs/._report.txt ]
	check_bag src sha512
}

@test "--exclude in place: top-level entries stay beside data/, nested ones are refused" {
	make_source src
	printf n >src/notes.tmp
	krun 0 bag create --exclude '*.tmp' src
	expect_code create.excluded-kept
	[ -f src/notes.tmp ] && [ ! -e src/data/notes.tmp ]
	check_bag src sha512
	make_source s2
	touch s2/docs/junk.tmp
	listing s2 >before
	krun 1 bag create --exclude '*.tmp' s2
	expect_code create.exclude-in-place
	listing s2 >after
	diff before after
}

@test "empty directories: a warning without --keep-empty-dirs, a .keep file with it" {
	make_source src
	mkdir -p src/empty src/nested/deeper
	cp -a src s2
	krun 0 bag create src d1
	expect_code create.empty-dir
	[ ! -e d1/data/empty ]
	krun 0 bag create --keep-empty-dirs src d2
	refute_code create.empty-dir
	[ -f d2/data/empty/.keep ] && [ ! -s d2/data/empty/.keep ]
	[ -f d2/data/nested/deeper/.keep ] && [ ! -e d2/data/nested/.keep ]
	grep -q '  data/empty/.keep$' d2/manifest-sha512.txt
	check_bag d2 sha512
	krun 0 bag create --keep-empty-dirs s2
	[ -f s2/data/empty/.keep ] && [ -f s2/data/nested/deeper/.keep ]
	check_bag s2 sha512
}

# --- to a destination ----------------------------------------------------------------------

@test "to DEST: a new bag, SOURCE untouched (full listing with digests)" {
	make_source src
	touch -d '2001-01-01 00:00' src/readme.txt
	listing src >before
	krun 0 bag create -a sha256,sha512 src dest
	expect_output "dest: bagged 6 files, 5025 bytes (sha256, sha512)"
	listing src >after
	diff before after
	check_bag dest sha256 sha512
	[ "$(stat -c %Y dest/data/readme.txt)" = "$(stat -c %Y src/readme.txt)" ]
	[ "$(stat -c %i dest/data/readme.txt)" != "$(stat -c %i src/readme.txt)" ]
	[ ! -e dest/.kist-bagging ]
}

@test "to DEST: a large file read once for several digests is copied whole" {
	mkdir src
	head -c 20000000 /dev/urandom >src/big.bin
	printf 'small' >src/small
	krun 0 bag create -j 4 -a md5,sha256,sha512 src dest
	cmp src/big.bin dest/data/big.bin
	check_bag dest md5 sha256 sha512
}

@test "to DEST: a full disk is exit 3 and leaves no half-made bag" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
	mkdir mnt src
	mount -t tmpfs -o size=1m tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
	head -c 3000000 /dev/urandom >src/big.bin
	printf 'x' >src/a
	run --separate-stderr "$KIST" bag create src mnt/bag
	st=$status
	left=$(ls -A mnt)
	umount mnt
	[ "$st" -eq 3 ] || flunk "expected exit 3"
	[[ "$stderr" == *"No space left on device"* ]] || flunk "no ENOSPC message"
	[ -z "$left" ] || flunk "left in the destination: $left"
	[ -f src/big.bin ] && [ -f src/a ]
}

@test "in place: out of room while writing the tag files is exit 3; the same command then finishes" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
	mkdir mnt
	mount -t tmpfs -o size=4m,nr_inodes=10 tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
	mkdir -p mnt/src/d
	printf a >mnt/src/a
	printf b >mnt/src/b
	printf c >mnt/src/d/c
	payload_set mnt/src >before
	run --separate-stderr "$KIST" bag create mnt/src
	st1=$status err1=$stderr
	payload_set mnt/src >mid
	journal=$([ -f mnt/src/.kist-bagging ] && echo yes)
	mount -o remount,nr_inodes=100 mnt
	run --separate-stderr "$KIST" bag create mnt/src
	st2=$status
	payload_set mnt/src >after
	ok=0
	check_bag mnt/src sha512 && ok=1
	umount mnt
	[ "$st1" -eq 3 ] || flunk "first run: expected exit 3, got $st1: $err1"
	[[ "$err1" == *"No space left on device"* ]] || flunk "first run: $err1"
	[[ "$err1" == *"run the same command again to finish"* ]] || flunk "first run: $err1"
	[ "$journal" = yes ] || flunk "no journal left for the rerun"
	diff before mid
	[ "$st2" -eq 0 ] || flunk "rerun failed"
	diff before after
	[ "$ok" -eq 1 ] || flunk "the finished bag does not check"
}

@test "--link gives the same inode" {
	make_source src
	krun 0 bag create --link src dest
	[ "$(stat -c %i dest/data/img/pic.bin)" = "$(stat -c %i src/img/pic.bin)" ]
	[ "$(stat -c %i dest/data/data/inner.txt)" = "$(stat -c %i src/data/inner.txt)" ]
	check_bag dest sha512
}

@test "--link across file systems copies, with a warning" {
	[ -d /dev/shm ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d .)" ] || skip "no second file system"
	make_source src
	d=$(mktemp -d /dev/shm/kist-bats-XXXXXX)
	run --separate-stderr "$KIST" bag create --link src "$d/bag"
	st=$status
	err=$stderr
	ok=0
	[ "$st" -eq 0 ] && [[ "$err" == *"(create.link-fallback)"* ]] && check_bag "$d/bag" sha512 && ok=1
	rm -rf "$d"
	[ "$ok" -eq 1 ] || flunk "status $st: $err"
}

@test "DEST inside SOURCE is refused (exit 2)" {
	make_source src
	listing src >before
	krun 2 bag create src src/bag
	expect_code create.dest-inside-source
	krun 2 bag create src src
	listing src >after
	diff before after
}

@test "DEST existing and not empty is refused (exit 2); an empty DEST is used" {
	make_source src
	mkdir full && touch full/x
	krun 2 bag create src full
	expect_code create.dest-not-empty
	[ "$(ls -A full)" = x ]
	mkdir empty
	krun 0 bag create src empty
	check_bag empty sha512
}

@test "usage errors" {
	krun 2 bag create
	make_source src
	krun 2 bag create src d1 d2
	krun 2 bag create --link src
	krun 2 bag create --bogus src
	krun 0 bag create -h
	expect_stdout_has "usage: kist bag create"
	krun 3 bag create nonexistent
	expect_stderr_has "nonexistent: No such file or directory"
	krun 2 bag create src/readme.txt
	expect_stderr_has "not a directory"
}

@test "--format json reports the bag and the findings" {
	make_source src
	touch src/.DS_Store
	krun 0 bag create --format json src dest
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["bag"]=="dest" and d["files"]==7 and d["algorithms"]==["sha512"] and d["findings"][0]["code"]=="create.os-litter", d' "$output"
}

@test "a file that cannot be read: exit 3, and no half-made DEST" {
	make_source src
	chmod 000 src/docs/2024/report.txt
	as_nobody_prepare
	nrun 3 bag create src dest
	[ ! -e dest ]
	chmod 644 src/docs/2024/report.txt
}

# --- crash safety ----------------------------------------------------------------------------

# Kills `kist bag create` with SIGKILL at random moments, again and again on
# the same folder (each run goes on from what the killed ones left), and
# checks after every kill that each payload file is there exactly once, with
# its content; then lets a run finish and checks the bag.
crash_test() {
	local mode=$1 kills=$2
	python3 - "$KIST" "$mode" "$kills" <<'EOF'
import hashlib, os, random, re, shutil, signal, subprocess, sys, time
kist, mode, kills = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(os.getpid())

def make(root):
    os.makedirs(root)
    n = 0
    for t in range(115):
        top = os.path.join(root, "d%03d" % t if t % 10 else "data" if t == 0 else ".hid%03d" % t)
        if t % 7 == 3:
            with open(top, "wb") as f:
                f.write(os.urandom(random.randint(0, 200)))
            n += 1
            continue
        for k in range(20):
            sub = os.path.join(top, "s%d" % (k % 3))
            os.makedirs(sub, exist_ok=True)
            with open(os.path.join(sub, "f%02d.txt" % k), "wb") as f:
                f.write(os.urandom(random.randint(0, 300)))
            n += 1
    return n

def payload(root):
    staging = os.path.join(root, ".kist-bagging.data")
    journal = os.path.join(root, ".kist-bagging")
    phase = None
    if os.path.isfile(journal):
        m = re.search(r"^phase (\w+)$", open(journal).read(), re.M)
        phase = m.group(1) if m else "?"
    ours = not os.path.isdir(staging) and (phase == "move" or (phase is None and os.path.exists(os.path.join(root, "bagit.txt"))))
    tag = re.compile(r"^(bagit\.txt|bag-info\.txt|(tag)?manifest-\w+\.txt|\.kist-bagging(\.tmp)?)$")
    out = []
    for dp, dns, fns in os.walk(root):
        for f in fns:
            rel = os.path.relpath(os.path.join(dp, f), root)
            if rel.startswith(".kist-bagging.d/") or ("/" not in rel and tag.match(rel)) or rel == "metadata/premis.xml":
                continue
            full = os.path.join(dp, f)
            if rel.startswith(".kist-bagging.data/"):
                rel = rel[len(".kist-bagging.data/"):]
            elif ours and rel.startswith("data/"):
                rel = rel[5:]
            out.append((rel, hashlib.sha256(open(full, "rb").read()).hexdigest()))
    return sorted(out)

def check_bag(bag):
    files = set()
    for dp, dns, fns in os.walk(os.path.join(bag, "data")):
        for f in fns:
            files.add(os.path.relpath(os.path.join(dp, f), bag))
    seen = set()
    for line in open(os.path.join(bag, "manifest-sha512.txt")):
        hexd, path = line.rstrip("\n").split("  ", 1)
        assert hashlib.sha512(open(os.path.join(bag, path), "rb").read()).hexdigest() == hexd, path
        seen.add(path)
    assert seen == files, sorted(seen ^ files)[:5]
    for line in open(os.path.join(bag, "tagmanifest-sha512.txt")):
        hexd, path = line.rstrip("\n").split("  ", 1)
        assert hashlib.sha512(open(os.path.join(bag, path), "rb").read()).hexdigest() == hexd, path
    assert open(os.path.join(bag, "bagit.txt"), "rb").read() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    oxum = re.search(r"^Payload-Oxum: (\d+)\.(\d+)$", open(os.path.join(bag, "bag-info.txt")).read(), re.M)
    assert int(oxum.group(2)) == len(files), oxum.group(0)
    for extra in os.listdir(bag):
        assert not extra.startswith(".kist-bagging"), extra
    return len(files)

src = "src"
nfiles = make(src)
want = payload(src)
assert len(want) == nfiles
dest = "dest"
args = [kist, "bag", "create", "-q", "-j", "2", src] + ([dest] if mode == "dest" else [])

# how long a whole run takes, on a copy
shutil.copytree(src, "probe")
t0 = time.monotonic()
env = dict(os.environ, KIST_TEST_MOVE_DELAY_US="2000")
subprocess.run([kist, "bag", "create", "-q", "-j", "2", "probe"] + (["probe-dest"] if mode == "dest" else []), env=env, check=True)
full = time.monotonic() - t0

killed = finished = 0
stages = {}
def complete(bag):
    return os.path.exists(os.path.join(bag, "bagit.txt")) and not os.path.exists(os.path.join(bag, ".kist-bagging"))

while killed < kills:
    # a run killed after it had finished: check the bag, start over
    if mode == "dest" and complete(dest):
        check_bag(dest)
        shutil.rmtree(dest)
        finished += 1
    elif mode == "inplace" and complete(src):
        check_bag(src)
        shutil.rmtree(src)
        make(src)
        want = payload(src)
        finished += 1
    slow = random.random() < 0.5
    e = dict(os.environ, KIST_TEST_MOVE_DELAY_US="2000") if slow else dict(os.environ)
    p = subprocess.Popen(args, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(random.uniform(0, full * (1.0 if slow else 0.3)))
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
        killed += 1
    else:
        err = p.stderr.read().decode()
        assert p.returncode == 0, (p.returncode, err)
    p.stderr.close()
    # after the kill: every payload file exactly once, unchanged
    got = payload(src)
    assert got == want, "after kill %d: %d files, want %d; first differences %r" % (
        killed, len(got), len(want), sorted(set(got) ^ set(want))[:4])
    state = "journal" if os.path.exists(os.path.join(src, ".kist-bagging")) else "none"
    if os.path.isdir(os.path.join(src, ".kist-bagging.data")):
        state = "moving"
    stages[state] = stages.get(state, 0) + 1

# the same command again finishes the bag
if not complete(dest if mode == "dest" else src):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, (r.returncode, r.stderr)
bag = dest if mode == "dest" else src
n = check_bag(bag)
assert n == len(want), (n, len(want))
assert payload(src if mode == "dest" else bag) == want
print("kills %d, finished runs %d, states after kills %r" % (killed, finished, stages), file=sys.stderr)
EOF
}

@test "crash safety in place: 20 SIGKILLs at random moments lose or duplicate nothing; a rerun finishes the bag" {
	skip_under_valgrind "kills the process at moments timed for a normal run"
	run --separate-stderr crash_test inplace 20
	[ "$status" -eq 0 ] || flunk "crash test failed"
	echo "# $stderr" >&3
}

@test "crash safety to DEST: SIGKILLs leave SOURCE untouched; a rerun makes the bag over" {
	skip_under_valgrind "kills the process at moments timed for a normal run"
	run --separate-stderr crash_test dest 10
	[ "$status" -eq 0 ] || flunk "crash test failed"
}

@test "an interrupted in-place run is recognised: staging and journal are not payload" {
	make_source src
	payload_set src >before
	# a run killed right after its journal and staging directory were made,
	# with two entries moved
	printf 'kist-bagging 1\nphase prepare\n' >src/.kist-bagging
	mkdir src/.kist-bagging.data
	krun 0 bag create src
	payload_set src >after
	diff before after
	check_bag src sha512
}

@test "a DEST left unfinished by a killed run is made over, with a warning" {
	make_source src
	mkdir -p dest/data
	printf 'kist-bagging 1\nphase copy\n' >dest/.kist-bagging
	printf 'half' >dest/data/readme.txt
	krun 0 bag create src dest
	expect_code create.restart
	check_bag dest sha512
	cmp src/readme.txt dest/data/readme.txt
}

@test "a source half-way through bagging in place is not copied to a DEST" {
	make_source src
	printf 'kist-bagging 1\nphase prepare\n' >src/.kist-bagging
	krun 1 bag create src dest
	expect_code create.unfinished
	[ ! -e dest ]
}

@test "a file in the way of the journal is not mistaken for one" {
	make_source src
	printf 'mine' >src/.kist-bagging
	listing src >before
	krun 1 bag create src
	expect_code create.reserved-name
	listing src >after
	diff before after
}
