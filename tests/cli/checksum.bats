#!/usr/bin/env bats
# kist checksum: computing digests. Digests are compared with coreutils
# (md5sum ... sha512sum, b2sum, cksum) and python3's hashlib; output formats
# with sha256sum -c, cksum -c, python3's json and csv modules.

load helpers

MiB=1048576

# A few files around the 1 MiB read block.
make_sizes() {
	: >empty
	printf 'a' >one
	printf 'hello\n' >hello
	random_file block $MiB
	random_file block1 $((MiB + 1))
	random_file three $((3 * MiB + 17))
	SIZES=(empty one hello block block1 three)
}

# make_hostile DIR: files whose names trouble line-based formats. No CR here
# (see the CR tests).
make_hostile() {
	local d=$1
	mkdir -p "$d"
	printf 1 >"$d/new"$'\n'"line"
	printf 2 >"$d/back\\slash"
	printf 3 >"$d/both\\"$'\n'"x"
	printf 4 >"$d/tab"$'\t'"x"
	printf 5 >"$d/ lead"
	printf 6 >"$d/trail "
	printf 7 >"$d/*star"
	printf 8 >"$d/bad"$'\xff'"utf8"
	printf 9 >"$d/paren) = x"
	printf a >"$d/%25pct"
	printf b >"$d/quote\"'"
	printf c >"$d/ünï"
	printf d >"$d/dash -"
	: >"$d/empty"
}

# byte_sorted DIR: DIR's entries as a bash array NAMES, sorted by bytes.
byte_sorted() {
	local LC_ALL=C
	NAMES=("$1"/*)
}

# --- digests ---------------------------------------------------------------------

@test "default output is sha256, byte-identical to sha256sum" {
	make_sizes
	krun 0 checksum "${SIZES[@]}"
	expect_no_stderr
	sha256sum "${SIZES[@]}" >want
	expect_output_file want
	[ "$(kist checksum hello)" = "$(kist checksum -a sha256 hello)" ]
	[ "$(kist checksum hello)" = "$(kist checksum --format gnu hello)" ]
}

@test "each algorithm alone matches its coreutils tool (md5sum, sha1sum, sha224sum, sha384sum, sha512sum, b2sum)" {
	make_sizes
	[ "${#REF_TOOL[@]}" -eq 7 ] || flunk "REF_TOOL has ${#REF_TOOL[@]} tools"
	local alg
	for alg in "${!REF_TOOL[@]}"; do
		krun 0 checksum -a "$alg" "${SIZES[@]}"
		expect_no_stderr
		"${REF_TOOL[$alg]}" "${SIZES[@]}" >want
		expect_output_file want
	done
}

@test "every algorithm alone matches python3 hashlib, sha3 included" {
	make_sizes
	local alg i
	for alg in "${ALL_ALGS[@]}"; do
		krun 0 checksum -a "$alg" "${SIZES[@]}"
		mapfile -t hex < <(py_hex "$alg" "${SIZES[@]}")
		[ "${#lines[@]}" -eq "${#SIZES[@]}" ] || flunk "$alg: ${#lines[@]} lines for ${#SIZES[@]} files"
		for i in "${!SIZES[@]}"; do
			[ "${lines[$i]}" = "${hex[$i]}  ${SIZES[$i]}" ] ||
				flunk "$alg ${SIZES[$i]}: want ${hex[$i]}"
		done
	done
}

@test "all nine algorithms: one tagged line each, in the fixed order, equal to hashlib" {
	make_sizes
	# asked for in reverse order: the output order does not follow -a
	krun 0 checksum -a blake2b-512,sha3-512,sha3-256,sha512,sha384,sha256,sha224,sha1,md5 "${SIZES[@]}"
	expect_no_stderr
	py_tagged "$(IFS=,; echo "${ALL_ALGS[*]}")" "${SIZES[@]}" >want
	expect_output_file want
	[ "${#lines[@]}" -eq $((9 * ${#SIZES[@]})) ]
	# the tags
	[[ "${lines[0]}" == "MD5 (empty) = d41d8cd98f00b204e9800998ecf8427e" ]]
	[[ "${lines[6]}" == "SHA3-256 (empty) = a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a" ]]
	[[ "${lines[8]}" == "BLAKE2b (empty) = 786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce" ]]
}

@test "algorithm names: BagIt spellings, case and punctuation variants" {
	printf 'some bytes\n' >f
	local -A want
	local alg hex
	while read -r alg hex; do
		want[$alg]=$hex
	done < <(py_all_hex f)
	[ "${#want[@]}" -eq 9 ]
	local pair variant canon
	for pair in md5=MD5 sha1=SHA1 sha1=sha-1 sha224=SHA-224 sha256=SHA-256 sha256=Sha256 \
		sha256=sha_256 sha384=SHA-384 sha512=SHA512 sha512=sha-512 \
		sha3-256=sha3256 sha3-256=SHA3-256 sha3-256=sha3_256 sha3-512=sha3512 sha3-512=SHA3_512 \
		blake2b-512=blake2b512 blake2b-512=BLAKE2B-512 blake2b-512=blake2b blake2b-512=blake2b_512; do
		canon=${pair%%=*} variant=${pair#*=}
		krun 0 checksum -a "$variant" f
		expect_no_stderr
		expect_output "${want[$canon]}  f"
	done
}

@test "an algorithm named twice counts once; -a order does not matter" {
	printf 'x' >f
	krun 0 checksum -a sha256,SHA-256,sha256 f
	expect_output "$(sha256sum f)"
	krun 0 checksum -a blake2b,md5 f
	local a=$output
	krun 0 checksum -a md5,blake2b f
	expect_output "$a"
	py_tagged md5,blake2b-512 f >want
	expect_output_file want
}

@test "the tagged form is what cksum --tag writes, and cksum -c accepts it" {
	make_sizes
	krun 0 checksum -a md5,sha1,sha224,sha256,sha384,sha512,blake2b "${SIZES[@]}"
	local f alg
	for f in "${SIZES[@]}"; do
		for alg in md5 sha1 sha224 sha256 sha384 sha512 blake2b; do
			cksum --tag -a "$alg" "$f"
		done
	done >want
	expect_output_file want
	printf '%s\n' "$output" >list
	run cksum -c list
	[ "$status" -eq 0 ] || flunk "cksum -c failed: $output"
	[ "$(grep -c ': OK$' <<<"$output")" -eq $((7 * ${#SIZES[@]})) ]
}

# --- the walk -------------------------------------------------------------------------

@test "directories are walked depth first, names sorted by bytes in each directory" {
	mkdir -p t/a t/A/B t/é t/z
	local n
	# created out of order on purpose
	for n in z/9 z/1 é/x A/B/c A/b a/x a-b a.txt aa _u B Z 0 '~' 'a b' é.txt; do
		printf '%s' "$n" >"t/$n"
	done
	krun 0 checksum t
	expect_no_stderr
	python3 - >want <<'EOF'
import hashlib, os, sys
def walk(d):
    for name in sorted(os.listdir(d)):
        p = d + b"/" + name
        if os.path.isdir(p):
            yield from walk(p)
        else:
            yield p
for p in walk(b"t"):
    sys.stdout.buffer.write(hashlib.sha256(open(p, "rb").read()).hexdigest().encode() + b"  " + p + b"\n")
EOF
	expect_output_file want
	# per directory, not by whole path: t/a/x comes before t/a-b
	[ "$(cut -c67- <<<"$output" | grep -n -x -e t/a/x -e t/a-b | cut -d: -f2 | tr '\n' ' ')" = "t/a/x t/a-b " ]
}

@test "arguments keep their order; 'dir/' names files like 'dir'; './dir' is kept as given" {
	mkdir -p d/s
	printf 1 >d/b
	printf 2 >d/s/a
	printf 3 >f
	krun 0 checksum f d
	expect_output "$(sha256sum f d/b d/s/a)"
	krun 0 checksum d f
	expect_output "$(sha256sum d/b d/s/a f)"
	krun 0 checksum d/ f
	expect_output "$(sha256sum d/b d/s/a f)"
	krun 0 checksum ./d
	expect_output "$(sha256sum ./d/b ./d/s/a)"
	krun 0 checksum "$PWD/d"
	expect_output "$(sha256sum "$PWD/d/b" "$PWD/d/s/a")"
}

@test "options may follow the paths; '--' ends the options, for names starting with '-'" {
	printf 1 >-dash
	printf 2 >f
	krun 0 checksum -- -dash f
	expect_output "$(sha256sum -- -dash f)"
	krun 0 checksum f -a md5
	expect_output "$(md5sum f)"
	krun 0 checksum -a md5 -- -dash
	expect_output "$(md5sum -- -dash)"
}

@test "an empty directory gives no lines and exit 0" {
	mkdir e
	krun 0 checksum e
	expect_no_stdout
	expect_no_stderr
}

@test "a missing argument is file.missing (exit 1); the other arguments are still hashed" {
	printf 1 >a
	printf 2 >b
	krun 1 checksum a nosuch b
	expect_output "$(sha256sum a b)"
	expect_finding error nosuch file.missing
}

@test "symlinks inside a tree are not followed (walk.symlink warning, exit 0); arguments are" {
	mkdir -p t real
	printf 1 >t/f
	printf 2 >real/g
	ln -s f t/link
	ln -s ../real t/dirlink
	ln -s real rootlink
	krun 0 checksum t
	expect_output "$(sha256sum t/f)"
	expect_finding warning t/link walk.symlink
	expect_finding warning t/dirlink walk.symlink
	# a symlink given as an argument is followed, like find -H
	krun 0 checksum rootlink
	expect_output "$(sha256sum rootlink/g)"
}

@test "-L follows symlinks inside a tree, under the link's name" {
	mkdir -p t real
	printf 1 >t/f
	printf 2 >real/g
	ln -s f t/link
	ln -s ../real t/dirlink
	krun 0 checksum -L t
	expect_no_stderr
	expect_output "$(sha256sum t/dirlink/g t/f t/link)"
	krun 0 checksum --follow-symlinks t
	expect_output "$(sha256sum t/dirlink/g t/f t/link)"
}

# --- determinism and threads -------------------------------------------------------------

@test "output is repeatable: the same for -j 1, -j 2 and -j 8, run after run" {
	# 1500 small files in 30 directories (more than the result window of
	# 64 per worker), and two larger ones
	python3 -c '
import os
for i in range(30):
    os.makedirs("t/d%d" % i)
    for j in range(50):
        open("t/d%d/f%d" % (i, j), "w").write("%d-%d" % (i, j) * (j % 7))'
	random_file t/d3/big1 $((2 * MiB + 3))
	random_file t/d17/big2 $((3 * MiB))
	krun 0 checksum -j 1 t
	local one=$output j
	[ "${#lines[@]}" -eq 1502 ]
	# correct, and in walk order
	cut -c67- <<<"$output" | xargs -d '\n' sha256sum >want
	expect_output_file want
	for j in 2 8; do
		krun 0 checksum -j "$j" t
		expect_output "$one"
	done
	krun 0 checksum -j 1 -a md5,sha512,blake2b t
	local multi=$output
	krun 0 checksum -j 3 -a md5,sha512,blake2b t
	expect_output "$multi"
}

@test "a 40 MiB file with six algorithms: -j 2 (shared lanes) matches hashlib and -j 1" {
	random_file big $((40 * MiB + 5))
	local algs=md5,sha1,sha256,sha512,sha3-256,blake2b-512
	py_tagged "$algs" big >want
	krun 0 checksum -j 2 -a "$algs" big
	expect_no_stderr
	expect_output_file want
	krun 0 checksum -j 1 -a "$algs" big
	expect_output_file want
	krun 0 checksum -j 4 -a "$algs" big
	expect_output_file want
}

@test "several large files at once, shared between workers, match hashlib for -j 2 and -j 4" {
	random_file src $((20 * MiB))
	# big files (over the 8 MiB share threshold) between small ones
	head -c $((9 * MiB + 7)) src >b1
	printf small1 >s1
	tail -c $((12 * MiB)) src >b2
	printf small2 >s2
	tail -c +$((3 * MiB + 1)) src | head -c $((10 * MiB)) >b3
	tail -c $((11 * MiB - 3)) src >b4
	: >s3
	local files=(b1 s1 b2 s2 b3 b4 s3)
	local algs=md5,sha256,sha512,blake2b-512
	py_tagged "$algs" "${files[@]}" >want
	local j
	for j in 2 4 2; do
		krun 0 checksum -j "$j" -a "$algs" "${files[@]}"
		expect_no_stderr
		expect_output_file want
	done
	# and two algorithms, two lanes
	py_tagged sha1,sha256 "${files[@]}" >want2
	krun 0 checksum -j 2 -a sha1,sha256 "${files[@]}"
	expect_output_file want2
}

@test "file sizes at the share threshold and block boundaries hash right with two lanes" {
	random_file src $((17 * MiB))
	local n files=()
	for n in $((8 * MiB - 1)) $((8 * MiB)) $((8 * MiB + 1)) $((9 * MiB)) $((16 * MiB)) $((16 * MiB + 1)); do
		head -c "$n" src >"f$n"
		files+=("f$n")
	done
	py_tagged sha256,sha512 "${files[@]}" >want
	krun 0 checksum -j 2 -a sha256,sha512 "${files[@]}"
	expect_no_stderr
	expect_output_file want
}

# --- names that break line formats ---------------------------------------------------------

@test "hostile names: output is byte-identical to sha256sum's, and sha256sum -c accepts it" {
	make_hostile h
	byte_sorted h
	krun 0 checksum h
	sha256sum "${NAMES[@]}" >want
	expect_output_file want
	printf '%s\n' "$output" >list
	run sha256sum -c list
	[ "$status" -eq 0 ] || flunk "sha256sum -c failed"
	[ "$(grep -c ': OK$' <<<"$output")" -eq "${#NAMES[@]}" ]
	# the escaped lines start with a backslash, as coreutils writes them
	grep -q -x '\\[0-9a-f]\{64\}  h/new\\nline' list
	grep -q -x '\\[0-9a-f]\{64\}  h/back\\\\slash' list
}

@test "hostile names in the tagged form: identical to cksum --tag, and cksum -c accepts it" {
	make_hostile h
	byte_sorted h
	krun 0 checksum -a md5,sha256 h
	local f
	for f in "${NAMES[@]}"; do
		cksum --tag -a md5 "$f"
		cksum --tag -a sha256 "$f"
	done >want
	expect_output_file want
	printf '%s\n' "$output" >list
	run cksum -c list
	[ "$status" -eq 0 ] || flunk "cksum -c failed: $output"
	[ "$(grep -c ': OK$' <<<"$output")" -eq $((2 * ${#NAMES[@]})) ]
}

@test "a name with a carriage return: same line as sha256sum (escaped \\r), and sha256sum -c accepts it" {
	mkdir h
	printf 1 >"h/cr"$'\r'
	printf 2 >"h/mid"$'\r'"dle"
	printf 3 >h/plain
	byte_sorted h
	krun 0 checksum h
	sha256sum "${NAMES[@]}" >want
	expect_output_file want
	printf '%s\n' "$output" >list
	run sha256sum -c list
	[ "$status" -eq 0 ] || flunk "sha256sum -c does not accept kist's lines: $output"
}

@test "a name with a carriage return in the tagged form: identical to cksum --tag" {
	mkdir h
	printf 1 >"h/cr"$'\r'
	printf 3 >h/plain
	byte_sorted h
	krun 0 checksum -a md5,sha256 h
	local f
	for f in "${NAMES[@]}"; do
		cksum --tag -a md5 "$f"
		cksum --tag -a sha256 "$f"
	done >want
	expect_output_file want
}

@test "names with a line break or invalid UTF-8 are hashed, with warnings naming them escaped" {
	mkdir h
	printf 1 >"h/new"$'\n'"line"
	printf 2 >"h/bad"$'\xff'
	krun 0 checksum h
	expect_output "$(sha256sum h/bad$'\xff' h/new$'\n'line)"
	expect_finding warning 'h/new\nline' path.line-break
	expect_finding warning 'h/bad\xff' path.invalid-utf8
}

# --- --format bagit ---------------------------------------------------------------------------

@test "--format bagit: 'hex  path', with only CR, LF and % percent-encoded" {
	mkdir -p bag/data/sub
	printf 1 >"bag/data/new"$'\n'"line"
	printf 2 >"bag/data/cr"$'\r'"x"
	printf 3 >"bag/data/100%"
	printf 4 >"bag/data/%0A literally"
	printf 5 >"bag/data/back\\slash"
	printf 6 >"bag/data/tab"$'\t'"x"
	printf 7 >"bag/data/sub/a b"
	printf 8 >"bag/data/bad"$'\xfe'
	cd bag
	krun 0 checksum --format bagit -a sha512 data
	python3 - >../want <<'EOF'
import hashlib, os, sys
def walk(d):
    for name in sorted(os.listdir(d)):
        p = d + b"/" + name
        yield from walk(p) if os.path.isdir(p) else [p]
for p in walk(b"data"):
    enc = p.replace(b"%", b"%25").replace(b"\n", b"%0A").replace(b"\r", b"%0D")
    sys.stdout.buffer.write(hashlib.sha512(open(p, "rb").read()).hexdigest().encode() + b"  " + enc + b"\n")
EOF
	expect_output_file ../want
	expect_line "$(printf 3 | sha512sum | cut -c1-128)  data/100%25"
	expect_line "$(printf 4 | sha512sum | cut -c1-128)  data/%250A literally"
	expect_line "$(printf 1 | sha512sum | cut -c1-128)  data/new%0Aline"
	# default algorithm sha256
	krun 0 checksum --format bagit data/sub
	expect_output "$(printf 7 | sha256sum | cut -c1-64)  data/sub/a b"
}

@test "--format bagit takes exactly one algorithm" {
	printf x >f
	krun 2 checksum --format bagit -a sha256,sha512 f
	expect_no_stdout
	krun 0 checksum --format bagit -a md5 f
	expect_output "$(md5sum f)"
}

# --- --format json ----------------------------------------------------------------------------

@test "--format json: one valid document with algorithms, files (path, size, digests) and findings" {
	mkdir t
	make_sizes
	mv "${SIZES[@]}" t/
	krun 0 checksum --format json -a sha3-256,md5,blake2b t
	printf '%s\n' "$output" >out.json
	python3 -m json.tool out.json >/dev/null || flunk "not valid JSON"
	python3 - <<'EOF' || flunk "JSON content is wrong"
import hashlib, json, os
doc = json.load(open("out.json"))
assert set(doc) == {"algorithms", "files", "findings"}, doc.keys()
assert doc["algorithms"] == ["md5", "sha3-256", "blake2b-512"], doc["algorithms"]
names = sorted(os.listdir("t"))
assert [f["path"] for f in doc["files"]] == ["t/" + n for n in names]
for f in doc["files"]:
    data = open(f["path"], "rb").read()
    assert f["size"] == len(data) and isinstance(f["size"], int), f
    assert f["md5"] == hashlib.md5(data).hexdigest(), f
    assert f["sha3-256"] == hashlib.sha3_256(data).hexdigest(), f
    assert f["blake2b-512"] == hashlib.blake2b(data).hexdigest(), f
    assert "path_bytes" not in f, f
assert doc["findings"] == []
EOF
}

@test "--format json: hostile names survive; a non-UTF-8 name carries path_bytes; warnings are findings" {
	make_hostile h
	printf e >"h/ctl"$'\x01'"x"
	printf f >"h/esc"$'\x1b'"[31m"
	printf g >"h/del"$'\x7f'
	printf h >"h/cr"$'\r'
	krun 0 checksum --format json h
	printf '%s\n' "$output" >out.json
	python3 - <<'EOF' || flunk "JSON content is wrong"
import hashlib, json, os
doc = json.loads(open("out.json", "rb").read().decode("utf-8"))  # strict: no raw control characters
names = sorted(os.listdir(b"h"))
files = doc["files"]
assert len(files) == len(names), (len(files), len(names))
for name, f in zip(names, files):
    raw = b"h/" + name
    try:
        text = raw.decode("utf-8")
        assert f["path"] == text, (f["path"], text)
        assert "path_bytes" not in f, f
    except UnicodeDecodeError:
        assert bytes.fromhex(f["path_bytes"]) == raw, f
        assert "\ufffd" in f["path"], f
    assert f["sha256"] == hashlib.sha256(open(raw, "rb").read()).hexdigest(), f
codes = {(x["code"], x["severity"]) for x in doc["findings"]}
assert ("path.line-break", "warning") in codes, codes
assert ("path.invalid-utf8", "warning") in codes, codes
for x in doc["findings"]:
    assert set(x) >= {"code", "severity", "path", "message"}, x
EOF
}

@test "--format json with a problem: still one valid document, the finding in it, exit 1" {
	printf 1 >a
	krun 1 checksum --format json a nosuch
	printf '%s\n' "$output" >out.json
	python3 - <<'EOF' || flunk "JSON content is wrong"
import json
doc = json.load(open("out.json"))
assert [f["path"] for f in doc["files"]] == ["a"], doc
assert [(x["code"], x["severity"], x["path"]) for x in doc["findings"]] == [("file.missing", "error", "nosuch")], doc
EOF
	krun 0 checksum --format json -a md5 a
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["algorithms"]==["md5"] and d["files"][0]["size"]==1' "$output"
}

@test "--format json of an empty directory is a valid document with no files" {
	mkdir e
	krun 0 checksum --format json e
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d=={"algorithms":["sha256"],"files":[],"findings":[]}, d' "$output"
}

# --- --format csv -----------------------------------------------------------------------------

@test "--format csv: header path,size,<alg>..., CRLF records, RFC 4180 quoting" {
	mkdir h
	printf 1 >"h/comma,name"
	printf 2 >'h/quote"d'
	printf 3 >"h/new"$'\n'"line"
	printf 4 >"h/cr"$'\r'"x"
	printf 5 >"h/ lead"
	printf 6 >"h/plain"
	printf 7 >"h/both,\"x"$'\n'
	: >h/empty
	krun 0 checksum --format csv -a sha256,md5,sha3-512 h
	kist checksum --format csv -a sha256,md5,sha3-512 h >out.csv
	python3 - <<'EOF' || flunk "CSV content is wrong"
import csv, hashlib, io, os
raw = open("out.csv", "rb").read()
assert raw.startswith(b"path,size,md5,sha256,sha3-512\r\n"), raw[:60]
assert raw.endswith(b"\r\n")
text = raw.decode("utf-8", "surrogateescape")
rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
assert rows[0] == ["path", "size", "md5", "sha256", "sha3-512"], rows[0]
names = sorted(os.listdir(b"h"))
assert len(rows) == 1 + len(names), rows
for name, row in zip(names, rows[1:]):
    p = b"h/" + name
    data = open(p, "rb").read()
    assert row[0].encode("utf-8", "surrogateescape") == p, (row, p)
    assert row[1:] == [str(len(data)), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(),
                       hashlib.sha3_512(data).hexdigest()], row
# RFC 4180: writing the rows back with CRLF and minimal quoting gives the same bytes
out = io.StringIO(newline="")
csv.writer(out, lineterminator="\r\n").writerows(rows)
assert out.getvalue() == text, (out.getvalue(), text)
EOF
}

# --- progress -------------------------------------------------------------------------------

@test "progress: a line on a terminal's stderr with KIST_PROGRESS_DELAY_MS=0; stdout stays clean" {
	require_pty
	truncate -s 300M big
	run tty_sh "KIST_PROGRESS_DELAY_MS=0 $(q "$KIST") checksum -j 1 big >out"
	[ "$status" -eq 0 ] || flunk "script failed"
	[[ "$output" == *files* ]] || flunk "no progress line on the terminal"
	[[ "$output" == *$'\r'* ]] || flunk "the progress line is not rewritten in place"
	[[ "$output" == *$'\e[K' ]] || flunk "the progress line is not erased at the end"
	[ "$(cat out)" = "$(sha256sum big)" ] || flunk "stdout is not just the digest line: $(od -c out | head)"
}

@test "progress: nothing on stderr when it is not a terminal, even with KIST_PROGRESS_DELAY_MS=0" {
	truncate -s 100M big
	KIST_PROGRESS_DELAY_MS=0 "$KIST" checksum -j 1 big 2>err | cat >out
	[ ! -s err ] || { od -c err | head >&2; false; }
	[ "$(cat out)" = "$(sha256sum big)" ]
	KIST_PROGRESS_DELAY_MS=0 "$KIST" checksum -j 1 big 2>&1 >/dev/null | cat >err2
	[ ! -s err2 ]
}

@test "progress: none on a terminal for a quick run, or with --no-progress" {
	require_pty
	printf x >small
	run tty_sh "$(q "$KIST") checksum small >out"
	[ "$status" -eq 0 ]
	[ -z "$output" ] || flunk "something on the terminal for a quick run"
	truncate -s 300M big
	run tty_sh "KIST_PROGRESS_DELAY_MS=0 $(q "$KIST") checksum --no-progress -j 1 big >out"
	[ "$status" -eq 0 ]
	[ -z "$output" ] || flunk "progress shown despite --no-progress"
}

@test "progress: without KIST_PROGRESS_DELAY_MS, a run over a second shows it on a terminal" {
	require_pty
	truncate -s 300M big
	local t0 t1
	t0=$(date +%s%N)
	# one thread, three costly digests: about 2 s on a 2020s machine
	run tty_sh "$(q "$KIST") checksum -j 1 -a sha3-512,sha512,blake2b big >out"
	t1=$(date +%s%N)
	[ "$status" -eq 0 ] || flunk "script failed"
	if [ $(((t1 - t0) / 1000000)) -lt 1500 ]; then
		skip "the run took under 1.5 s: too fast to see the default delay"
	fi
	[[ "$output" == *files* ]] || flunk "no progress line after more than a second"
}

@test "progress: checking a list on a terminal shows it too" {
	require_pty
	truncate -s 300M big
	sha256sum big >list
	run tty_sh "KIST_PROGRESS_DELAY_MS=0 $(q "$KIST") checksum -j 1 -c list >out"
	[ "$status" -eq 0 ]
	[[ "$output" == *files* ]] || flunk "no progress line on the terminal"
	[ "$(cat out)" = "big: OK" ]
}
