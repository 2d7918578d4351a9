load helpers

# Serialized bags (issue 7): kist bag pack, kist bag validate of .tar/.tgz/.zip
# in one streaming pass, kist bag unpack; archives made by kist (libarchive),
# by Debian's tar and zip, and hostile ones crafted with python3's tarfile and
# zipfile.

# mkbag NAME: a bag made by kist of three payload files, sha256 + sha512.
mkbag() {
	mkdir -p src/sub
	printf 'hello, world\n' >src/hello.txt
	printf '0123456789' >src/sub/b.bin
	head -c 700000 /dev/urandom >src/sub/big.bin
	touch -d '2020-02-02 02:02:02' src/hello.txt
	kist bag create -q -a sha256,sha512 src "$1"
}

# vcode ARCHIVE: the finding codes validation prints, sorted, one a line.
vcodes() {
	sed -n 's/.*(\([a-z.-]*\))$/\1/p' <<<"$stderr" | sort -u
}

# pyrss CMD...: runs CMD; prints its peak resident set size in KiB.
pyrss() {
	python3 - "$@" <<'EOF'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
}

# craft_tar OUT SPEC...: a tar written by python3's tarfile. SPEC is
# "file:NAME:TEXT", "dir:NAME", "sym:NAME:TARGET", "hard:NAME:TARGET",
# "fifo:NAME", "chr:NAME", or "liar:NAME:SIZE" (a header claiming SIZE bytes
# followed by only 10).
craft_tar() {
	python3 - "$@" <<'EOF'
import io, sys, tarfile
out, specs = sys.argv[1], sys.argv[2:]
with open(out, "wb") as f:
    t = tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT)
    liar = None
    for s in specs:
        kind, name, *rest = s.split(":", 2)
        i = tarfile.TarInfo(name)
        i.mtime = 1600000000
        if kind == "file":
            data = rest[0].encode()
            i.size = len(data)
            t.addfile(i, io.BytesIO(data))
        elif kind == "dir":
            i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        elif kind == "sym":
            i.type = tarfile.SYMTYPE; i.linkname = rest[0]; t.addfile(i)
        elif kind == "hard":
            i.type = tarfile.LNKTYPE; i.linkname = rest[0]; t.addfile(i)
        elif kind == "fifo":
            i.type = tarfile.FIFOTYPE; t.addfile(i)
        elif kind == "chr":
            i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; t.addfile(i)
        elif kind == "liar":
            i.size = int(rest[0]); liar = i
            f.write(i.tobuf(tarfile.PAX_FORMAT)); f.write(b"x" * 10)
    if liar is None:
        t.close()
EOF
}

# bag_entries: the spec of a valid bag "bag" with data/a.txt = "A\n" (sha256).
bag_entries() {
	local a_sum bagit manifest
	bagit=$'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'
	a_sum=$(printf 'A\n' | sha256sum | cut -d' ' -f1)
	manifest="$a_sum  data/a.txt"
	printf '%s\0' "dir:bag" "file:bag/bagit.txt:$bagit" "file:bag/manifest-sha256.txt:$manifest"$'\n' \
		"dir:bag/data" "file:bag/data/a.txt:A"$'\n'
}

# nothing_evil: no file named kxevil* appeared since the stamp, in the test's
# folder or anywhere under the temporary directories above it.
nothing_evil() {
	run bash -c 'find "${TMPDIR:-/tmp}" /tmp "$0" -name "kxevil*" -newer "$0/stamp" 2>/dev/null; true' "$BATS_TEST_TMPDIR"
	[ -z "$output" ] || flunk "written outside: $output"
}

# --- pack -------------------------------------------------------------------------

@test "pack: tar with one top directory named after the bag, tag files first, times kept" {
	mkbag mybag
	krun 0 bag pack mybag -o mybag.tar
	expect_output "mybag.tar: packed mybag"
	run tar tf mybag.tar
	[ "${lines[0]}" = "mybag/" ] || flunk "first entry"
	[ "${lines[1]}" = "mybag/bagit.txt" ] || flunk "bagit.txt second"
	[ "${lines[2]}" = "mybag/bag-info.txt" ] || flunk "bag-info.txt third"
	[ "${lines[3]}" = "mybag/manifest-sha256.txt" ] || flunk "manifests next"
	[ "${lines[4]}" = "mybag/manifest-sha512.txt" ] || flunk "manifests next"
	[ "${lines[5]}" = "mybag/tagmanifest-sha256.txt" ] || flunk "tag manifests next"
	# every entry below the one top directory; data/ last, in byte order
	for l in "${lines[@]}"; do [[ $l == mybag/* ]] || flunk "outside the top: $l"; done
	local first_data last_tag i
	for i in "${!lines[@]}"; do
		[[ ${lines[$i]} == mybag/data/* && -z ${first_data-} ]] && first_data=$i
		[[ ${lines[$i]} != mybag/data* ]] && last_tag=$i
	done
	[ "$last_tag" -lt "$first_data" ] || flunk "a tag file after the payload"
	printf '%s\n' "${lines[@]:$first_data}" >got
	LC_ALL=C sort got | cmp - got || flunk "payload not in byte order"
	# Debian's tar unpacks what libarchive wrote, bytes and times as in the bag
	mkdir x && tar xf mybag.tar -C x
	diff -r mybag x/mybag
	[ "$(stat -c %Y x/mybag/data/hello.txt)" = "$(stat -c %Y mybag/data/hello.txt)" ]
	[ "$(stat -c %Y x/mybag/data/hello.txt)" = "$(date -d '2020-02-02 02:02:02' +%s)" ]
}

@test "pack: the same bag packs to the same bytes; tar.gz, tgz and stored zip" {
	mkbag mybag
	krun 0 bag pack mybag -o one.tar
	krun 0 bag pack mybag -o two.tar
	cmp one.tar two.tar
	krun 0 bag pack mybag -o mybag.tar.gz
	krun 0 bag pack mybag -o b.tgz
	gzip -t mybag.tar.gz && gzip -t b.tgz
	krun 0 bag pack --store mybag -o mybag.zip
	krun 0 bag pack mybag -o deflated.zip
	python3 - <<'EOF'
import zipfile
z = zipfile.ZipFile("mybag.zip")
names = z.namelist()
assert names[0] == "mybag/" and names[1] == "mybag/bagit.txt", names
assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
assert any(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile("deflated.zip").infolist())
assert z.testzip() is None
EOF
	mkdir u && (cd u && unzip -q ../mybag.zip) && diff -r mybag u/mybag
	mkdir g && tar xzf mybag.tar.gz -C g && diff -r mybag g/mybag
}

@test "pack: a bag with a symlink is refused and nothing is written" {
	mkbag mybag
	ln -s /etc/passwd mybag/data/link
	krun 1 bag pack mybag -o mybag.tar
	expect_code pack.not-regular
	[ ! -e mybag.tar ] && [ -z "$(ls -A | grep kist-tmp)" ]
	mkdir notabag
	krun 1 bag pack notabag -o n.tar
	expect_code bag.not-a-bag
	krun 2 bag pack mybag -o mybag.rar
	krun 2 bag pack mybag
	krun 2 bag pack --store mybag -o a.tar
}

@test "pack: an existing OUT is kept unless --force" {
	mkbag mybag
	echo keep >mybag.tar
	krun 3 bag pack mybag -o mybag.tar
	[ "$(cat mybag.tar)" = keep ]
	krun 0 bag pack --force mybag -o mybag.tar
	krun 0 bag validate mybag.tar
}

@test "create --pack: the new bag is packed too" {
	mkdir src && echo one >src/one.txt
	krun 0 bag create --pack mybag.tgz src mybag
	expect_line "mybag.tgz: packed mybag"
	krun 0 bag validate mybag.tgz
	expect_output "mybag.tgz: valid"
	krun 2 bag create --pack x.rar src other
}

# --- validate ------------------------------------------------------------------------

@test "validate: archives made by kist, Debian's tar and zip are valid" {
	mkbag mybag
	kist bag pack mybag -o k.tar && mv k.tar mybag.tar
	kist bag pack --store mybag -o mybag.zip
	krun 0 bag validate mybag.tar mybag.zip
	expect_line "mybag.tar: valid"
	expect_line "mybag.zip: valid"
	rm mybag.tar mybag.zip
	# Debian's tools put entries in directory order: payload may come first
	tar cf mybag.tar mybag
	tar czf mybag.tgz mybag
	zip -qr mybag.zip mybag
	zip -qr0 stored.zip mybag && mv stored.zip mybag-stored.zip
	krun 0 bag validate mybag.tar mybag.tgz mybag.zip
	expect_line "mybag.tar: valid"
	expect_line "mybag.tgz: valid"
	expect_line "mybag.zip: valid"
	# the top directory does not bear the archive's name: a warning
	krun 0 bag validate mybag-stored.zip
	expect_code archive.name-mismatch
	expect_line "mybag-stored.zip: valid"
}

@test "validate: payload before the manifests is still checked (every algorithm computed)" {
	local specs
	mapfile -d '' -t specs < <(bag_entries)
	# data first, manifests last
	craft_tar bag.tar "dir:bag" "dir:bag/data" "${specs[4]}" "${specs[1]}" "${specs[2]}"
	krun 0 bag validate bag.tar
	expect_output "bag.tar: valid"
	craft_tar bag.tar "dir:bag" "dir:bag/data" "file:bag/data/a.txt:B" "${specs[1]}" "${specs[2]}"
	krun 1 bag validate bag.tar
	expect_code payload.checksum-mismatch
}

@test "validate: a payload manifest after payload hashed without its algorithm: archive.order" {
	local specs md5
	mapfile -d '' -t specs < <(bag_entries)
	md5=$(printf 'A\n' | md5sum | cut -d' ' -f1)
	# manifest-sha256 first, then the payload, then manifest-md5
	craft_tar late.tar "${specs[@]}" "file:bag/manifest-md5.txt:$md5  data/a.txt"$'\n'
	krun 3 bag validate late.tar
	expect_code archive.order
	expect_stderr_has "late.tar/data/a.txt"
	refute_code payload.checksum-mismatch
}

@test "validate: the same findings and exit codes as for the directory" {
	mkbag mybag
	printf 'changed' >mybag/data/sub/b.bin
	rm mybag/data/hello.txt
	echo extra >mybag/data/extra.txt
	krun 1 bag validate mybag
	vcodes >dir.codes
	tar cf mybag.tar mybag
	kist bag pack mybag -o mybag.tgz
	krun 1 bag validate mybag.tar
	vcodes >tar.codes
	diff dir.codes tar.codes
	expect_output "mybag.tar: invalid (5 errors)"
	krun 1 bag validate mybag.tgz
	vcodes | diff dir.codes -
	grep -qx payload.checksum-mismatch dir.codes && grep -qx payload.missing dir.codes &&
		grep -qx payload.unlisted dir.codes
	# json for an archive, like a directory's
	krun 1 bag validate --format json mybag.tgz
	expect_stdout_has '"verdict":"invalid"'
	expect_stdout_has '"code":"payload.missing"'
}

@test "validate: a missing file makes the archive incomplete; --completeness-only and --fast work" {
	mkbag mybag
	tar cf mybag.tar --exclude=big.bin mybag
	krun 1 bag validate mybag.tar
	expect_output "mybag.tar: incomplete (1 missing)"
	expect_stderr_has "mybag.tar/data/sub/big.bin"
	kist bag pack mybag -o ok.tar
	krun 0 bag validate --completeness-only ok.tar
	expect_output "ok.tar: complete"
	krun 0 bag validate --fast ok.tar
	expect_output "ok.tar: oxum ok"
	krun 2 bag validate --record ok.tar
}

@test "validate: more than one top-level entry, and a file as the top, are errors" {
	mkbag mybag
	echo stray >stray.txt
	tar cf mybag.tar mybag stray.txt
	krun 1 bag validate mybag.tar
	expect_code archive.top-level
	expect_stderr_has "stray.txt"
	(cd mybag && tar cf ../flat.tar .)
	krun 1 bag validate flat.tar
	expect_code archive.top-level
}

@test "validate: truncated and corrupted archives name the entry" {
	mkbag mybag
	kist bag pack mybag -o mybag.tar
	head -c 600000 mybag.tar >cut.tar
	krun 1 bag validate cut.tar
	expect_code archive.corrupt
	expect_stderr_has "cut.tar/data/sub/big.bin"
	kist bag pack mybag -o mybag.tgz
	head -c "$(($(stat -c %s mybag.tgz) / 2))" mybag.tgz >cut.tgz
	krun 1 bag validate cut.tgz
	expect_code archive.corrupt
	# a byte changed inside a stored zip: the zip's CRC or the manifest says so
	kist bag pack --store mybag -o mybag.zip
	python3 -c '
import sys
b = bytearray(open("mybag.zip","rb").read())
i = b.index(b"hello, world")
b[i] ^= 1
open("bad.zip","wb").write(b)'
	krun 1 bag validate bad.zip
	expect_stderr_has "bad.zip/data/hello.txt"
	echo "not an archive" >junk.tar
	krun 1 bag validate junk.tar
	expect_code archive.corrupt
	krun 3 bag validate missing.tar
	expect_code bag.unreadable
}

@test "validate: memory stays bounded by entries, not bytes (128 MiB payload)" {
	mkdir src
	head -c 134217728 /dev/zero >src/zeros.bin
	kist bag create -q -a sha256 src big
	kist bag pack big -o big.tgz
	kist bag pack big -o big.tar
	rm -rf src
	krun 0 bag validate big.tgz
	skip_under_valgrind "valgrind's own memory is in the resident size"
	rss=$(pyrss "$KIST" bag validate big.tgz)
	[ "$rss" -lt 65536 ] || flunk "peak RSS $rss KiB validating a 128 MiB payload"
	rss=$(pyrss "$KIST" bag validate big.tar)
	[ "$rss" -lt 65536 ] || flunk "peak RSS $rss KiB (tar)"
}

# --- unpack ---------------------------------------------------------------------------

@test "unpack: a valid bag lands in DIR/NAME, validated, files and times as packed" {
	mkbag mybag
	kist bag pack mybag -o mybag.tgz
	krun 0 bag unpack mybag.tgz out
	expect_output "out/mybag: valid, unpacked (3 files, 700023 bytes)"
	diff -r mybag out/mybag
	[ "$(stat -c %Y out/mybag/data/hello.txt)" = "$(stat -c %Y mybag/data/hello.txt)" ]
	[ -z "$(ls -A out | grep -v '^mybag$')" ] || flunk "left over: $(ls -A out)"
	krun 0 bag validate out/mybag
	# DIR/NAME exists now: not replaced
	echo mine >out/mybag/bagit.txt.mine
	krun 3 bag unpack mybag.tgz out
	expect_code unpack.exists
	expect_output "mybag.tgz: could not be unpacked (1 failure); nothing kept"
	[ -e out/mybag/bagit.txt.mine ] && [ "$(ls -A out)" = mybag ]
	# Debian's zip
	zip -qr deb.zip mybag
	krun 0 bag unpack deb.zip z
	diff -r mybag z/mybag
}

@test "unpack: an invalid bag leaves nothing behind" {
	mkbag mybag
	printf 'changed' >mybag/data/sub/b.bin
	tar cf mybag.tar mybag
	krun 1 bag unpack mybag.tar out
	expect_code payload.checksum-mismatch
	expect_output "mybag.tar: invalid (3 errors); nothing unpacked"
	[ ! -e out ] || flunk "out left: $(ls -A out)"
	mkdir keep
	krun 1 bag unpack mybag.tar keep
	[ -z "$(ls -A keep)" ] || flunk "left in keep: $(ls -A keep)"
}

@test "unpack: a holey bag (only fetch.txt files missing) is kept for kist bag fetch" {
	local specs b_sum
	mapfile -d '' -t specs < <(bag_entries)
	b_sum=$(printf 'B\n' | sha256sum | cut -d' ' -f1)
	specs[2]="${specs[2]}$b_sum  data/b.txt"$'\n'
	craft_tar bag.tar "${specs[@]}" "file:bag/fetch.txt:http://127.0.0.1:9/b.txt 2 data/b.txt"$'\n'
	krun 1 bag validate bag.tar
	expect_output "bag.tar: incomplete (1 to fetch)"
	krun 1 bag unpack bag.tar out
	expect_output "out/bag: unpacked, incomplete (1 to fetch: kist bag fetch)"
	[ "$(cat out/bag/data/a.txt)" = A ] && [ -f out/bag/fetch.txt ]
	# anything else wrong as well: nothing kept
	specs[4]="file:bag/data/a.txt:X"
	craft_tar bad.tar "${specs[@]}" "file:bag/fetch.txt:http://127.0.0.1:9/b.txt 2 data/b.txt"$'\n'
	krun 1 bag unpack bad.tar out2
	expect_code payload.checksum-mismatch
	[ ! -e out2 ]
}

@test "unpack: a name already in DIR that is a symlink is never written through" {
	mkbag mybag
	kist bag pack mybag -o mybag.tar
	mkdir out elsewhere
	ln -s ../elsewhere out/mybag
	krun 3 bag unpack mybag.tar out
	[ -z "$(ls -A elsewhere)" ] || flunk "written through the link"
	[ -L out/mybag ] && [ "$(ls -A out)" = mybag ]
}

# --- hostile archives ------------------------------------------------------------------

@test "hostile: tar-slip (.. and absolute names) is refused; nothing outside DIR" {
	local specs
	touch stamp
	mapfile -d '' -t specs < <(bag_entries)
	craft_tar slip.tar "${specs[@]}" "file:bag/../../kxevil-slip.txt:pwned" "file:/tmp/kxevil-abs-$$.txt:pwned"
	krun 1 bag validate slip.tar
	expect_code archive.unsafe-path
	mkdir -p deep/d
	krun 1 bag unpack slip.tar deep/d/out
	expect_code archive.unsafe-path
	[ ! -e deep/d/out ] && [ ! -e deep/kxevil-slip.txt ] && [ ! -e kxevil-slip.txt ]
	[ ! -e "/tmp/kxevil-abs-$$.txt" ]
	nothing_evil
}

@test "hostile: zip-slip is refused; nothing outside DIR" {
	local a_sum
	touch stamp
	a_sum=$(printf 'A\n' | sha256sum | cut -d' ' -f1)
	python3 - "$a_sum" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile("slip.zip", "w")
z.writestr("bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
z.writestr("bag/manifest-sha256.txt", sys.argv[1] + "  data/a.txt\n")
z.writestr("bag/data/a.txt", "A\n")
z.writestr("bag/../../kxevil-zip.txt", "pwned")
z.writestr("/tmp/kxevil-zipabs.txt", "pwned")
z.close()
EOF
	krun 1 bag validate slip.zip
	expect_code archive.unsafe-path
	mkdir d
	krun 1 bag unpack slip.zip d/out
	[ ! -e d/out ] && [ ! -e kxevil-zip.txt ] && [ ! -e /tmp/kxevil-zipabs.txt ]
	nothing_evil
}

@test "hostile: symlinks out of DIR and chains through them are never created or followed" {
	local specs
	touch stamp
	mapfile -d '' -t specs < <(bag_entries)
	mkdir target
	craft_tar links.tar "${specs[@]}" "sym:bag/data/up:../../../target" "sym:bag/data/chain:up" \
		"file:bag/data/up/kxevil-through.txt:pwned" "file:bag/data/chain/kxevil-chain.txt:pwned" \
		"sym:bag/abs:/etc"
	krun 1 bag validate links.tar
	expect_code archive.link-outside
	expect_code payload.symlink
	krun 1 bag unpack links.tar out
	expect_code archive.link-outside
	[ -z "$(ls -A target)" ] && [ ! -e out ]
	nothing_evil
}

@test "hostile: hard links to outside files, devices and FIFOs are refused" {
	local specs
	mapfile -d '' -t specs < <(bag_entries)
	craft_tar hard.tar "${specs[@]}" "hard:bag/data/passwd:/etc/passwd" "hard:bag/data/up:bag/../x"
	krun 1 bag validate hard.tar
	expect_code archive.hardlink-outside
	krun 1 bag unpack hard.tar out
	expect_code archive.hardlink-outside
	[ ! -e out ]
	craft_tar dev.tar "${specs[@]}" "fifo:bag/data/fifo" "chr:bag/null"
	krun 1 bag validate dev.tar
	expect_code payload.special-file
	expect_code archive.special-file
	krun 1 bag unpack dev.tar out
	[ ! -e out ]
}

@test "hostile: a hard link to an earlier file of the bag is fine" {
	local specs a_sum
	a_sum=$(printf 'A\n' | sha256sum | cut -d' ' -f1)
	mapfile -d '' -t specs < <(bag_entries)
	specs[2]="file:bag/manifest-sha256.txt:$a_sum  data/a.txt"$'\n'"$a_sum  data/b.txt"$'\n'
	craft_tar ok.tar "${specs[@]}" "hard:bag/data/b.txt:bag/data/a.txt"
	krun 0 bag validate ok.tar
	krun 0 bag unpack ok.tar out
	[ "$(cat out/bag/data/b.txt)" = A ]
}

@test "hostile: duplicate entries are refused" {
	local specs
	mapfile -d '' -t specs < <(bag_entries)
	craft_tar dup.tar "${specs[@]}" "file:bag/data/a.txt:B"
	krun 1 bag validate dup.tar
	expect_code archive.duplicate-entry
	krun 1 bag unpack dup.tar out
	expect_code archive.duplicate-entry
	[ ! -e out ]
}

@test "hostile: a header declaring far more bytes than the archive holds" {
	local specs
	mapfile -d '' -t specs < <(bag_entries)
	craft_tar liar.tar "${specs[0]}" "${specs[1]}" "liar:bag/bag-info.txt:8000000000"
	krun 1 bag validate liar.tar
	expect_code archive.corrupt
	expect_stderr_has "liar.tar/bag-info.txt"
	rss=$(pyrss "$KIST" bag validate liar.tar)
	# valgrind's own memory is in the resident size: the bound holds without it
	[ -n "${KIST_VALGRIND:-}" ] || [ "$rss" -lt 65536 ] || flunk "peak RSS $rss KiB"
	krun 1 bag unpack liar.tar out
	[ ! -e out ]
	# beyond --max-size: refused before a byte is written
	krun 1 bag unpack --max-size 1M liar.tar out
	expect_code archive.too-large
	[ ! -e out ]
}

@test "hostile: compression bombs meet the ratio and the total-size guards" {
	mkdir src
	head -c 67108864 /dev/zero >src/zeros.bin
	kist bag create -q -a sha256 src bomb
	kist bag pack bomb -o bomb.tgz
	[ "$(stat -c %s bomb.tgz)" -lt 1000000 ]
	krun 1 bag unpack bomb.tgz out
	expect_code archive.bomb
	expect_stderr_has "data/zeros.bin"
	[ ! -e out ]
	krun 1 bag unpack --max-size 10M --max-ratio 100000 bomb.tgz out
	expect_code archive.too-large
	[ ! -e out ]
	krun 0 bag unpack --max-ratio 100000 bomb.tgz out
	krun 2 bag unpack --max-size 0 bomb.tgz out2
	krun 2 bag unpack --max-ratio x bomb.tgz out2
}
