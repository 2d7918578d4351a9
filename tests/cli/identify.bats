#!/usr/bin/env bats
# kist identify: real files made here with Debian's tools (ImageMagick,
# python3's zipfile and wave) and by hand (PDF, OLE2), identified with the
# PUIDs the PRONOM V118 signature file gives them; formats, warnings and bad
# input. KIST_DATADIR points at the source tree's data/ (make check sets it).

load helpers

setup() {
	kist_setup || return 1
	: "${KIST_DATADIR:=$KIST_SRCDIR/data}"
	export KIST_DATADIR
}

need_convert() {
	command -v convert >/dev/null && convert -version 2>/dev/null | grep -q ImageMagick ||
		skip "ImageMagick's convert is not installed (apt-get install imagemagick)"
}

# puids FILE...: "name PUID[,PUID...]" per file (UNKNOWN if none), from the JSON.
puids() {
	run --separate-stderr "$KIST" identify --no-progress --format json "$@"
	[ "$status" -eq 0 ] || { show_run; flunk "kist identify failed"; }
	python3 -c '
import json, os, sys
d = json.loads(sys.stdin.read())
for f in d["files"]:
    p = ",".join(m["puid"] for m in f["matches"]) or "UNKNOWN"
    print(os.path.basename(f["path"]), p)
' <<<"$output"
}

# expect_puid FILE PUID: the file is identified as exactly PUID.
expect_puid() {
	local got
	got=$(puids "$1") || return 1
	[ "$got" = "$(basename "$1") $2" ] || flunk "$1: expected $2, got: $got"
}

# Office documents as their applications lay them out, made with zipfile.
make_office() {
	python3 - <<'EOF'
import zipfile
ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="xml" ContentType="application/xml"/>'
      '<Override PartName="/%s" ContentType="%s"/></Types>')
rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="%s"/></Relationships>')
def ooxml(fn, part, ctype, body):
    with zipfile.ZipFile(fn, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct % (part, ctype))
        z.writestr("_rels/.rels", rels % part)
        z.writestr(part, body)
ooxml("doc.docx", "word/document.xml",
      "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
      '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
      '<w:body><w:p><w:r><w:t>Hi</w:t></w:r></w:p></w:body></w:document>')
ooxml("book.xlsx", "xl/workbook.xml",
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
      '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/></workbook>')
ooxml("slides.pptx", "ppt/presentation.xml",
      "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
      '<p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"/>')
def odf(fn, mt):
    with zipfile.ZipFile(fn, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), mt, compress_type=zipfile.ZIP_STORED)
        z.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
                   'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.1">'
                   '<office:body/></office:document-content>', compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                   '<manifest:file-entry manifest:full-path="/" manifest:media-type="%s"/>'
                   '</manifest:manifest>' % mt, compress_type=zipfile.ZIP_DEFLATED)
odf("text.odt", "application/vnd.oasis.opendocument.text")
odf("sheet.ods", "application/vnd.oasis.opendocument.spreadsheet")
with zipfile.ZipFile("book.epub", "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
    z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
               'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile '
               'full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>')
    z.writestr("OEBPS/content.opf", '<?xml version="1.0"?><package version="2.0" xmlns="http://www.idpf.org/2007/opf"/>')
with zipfile.ZipFile("plain.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("hello.txt", "hello world\n" * 50)
EOF
}

# OLE2 compound files (version 3, 512-byte sectors), streams in the mini stream.
make_ole2() {
	python3 - "$@" <<'EOF'
import struct, sys
def cfb(path, streams):
    mini = b""; starts = []
    for name, data in streams:
        starts.append(len(mini) // 64)
        mini += data + b"\0" * (-len(data) % 64)
    msec = (len(mini) + 511) // 512
    hdr = bytearray(512)
    hdr[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", hdr, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", hdr, 0x28, 0, 1, 1, 0, 4096, 2, 1, 0xFFFFFFFE, 0)
    struct.pack_into("<I", hdr, 0x4C, 0)
    for i in range(1, 109):
        struct.pack_into("<I", hdr, 0x4C + 4 * i, 0xFFFFFFFF)
    fat = [0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFE] + [4 + i if i + 1 < msec else 0xFFFFFFFE for i in range(msec)]
    fat += [0xFFFFFFFF] * (128 - len(fat))
    minifat = []
    for (name, data), s in zip(streams, starts):
        n = (len(data) + 63) // 64
        minifat += [s + i + 1 if i + 1 < n else 0xFFFFFFFE for i in range(n)]
    minifat += [0xFFFFFFFF] * (128 - len(minifat))
    def entry(name, typ, left, right, child, start, size):
        n = name.encode("utf-16-le") + b"\0\0"
        e = bytearray(128)
        e[0:len(n)] = n
        struct.pack_into("<HBB", e, 64, len(n), typ, 1)
        struct.pack_into("<III", e, 68, left, right, child)
        struct.pack_into("<II", e, 116, start, size)
        return bytes(e)
    NONE = 0xFFFFFFFF
    d = entry("Root Entry", 5, NONE, NONE, 1, 3, len(mini))
    for i, ((name, data), s) in enumerate(zip(streams, starts)):
        d += entry(name, 2, NONE, i + 2 if i + 1 < len(streams) else NONE, NONE, s, len(data))
    d += bytes(512 - len(d))
    with open(path, "wb") as f:
        f.write(bytes(hdr) + struct.pack("<128I", *fat) + d + struct.pack("<128I", *minifat)
                + mini + b"\0" * (msec * 512 - len(mini)))
compobj = bytes(40) + b"\x10\0\0\0Word.Document.8\0" + bytes(40)
cfb("letter.doc", [("WordDocument", b"\xEC\xA5\xC1\0" + bytes(60)), ("\x01CompObj", compobj)])
cfb("sums.xls", [("Workbook", bytes.fromhex("0908100000060500") + bytes(56)),
                 ("\x05SummaryInformation", bytes(48))])
cfb("other.ole", [("Something", b"abc"), ("Else", b"def")])
EOF
}

# A PNG with one more ancillary chunk (TYPE, one data byte) before IDAT.
png_with_chunk() {
	python3 - "$1" "$2" "$3" <<'EOF'
import struct, sys, zlib
src, typ, dst = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
data = open(src, "rb").read()
at = data.index(b"IDAT") - 4
chunk = struct.pack(">I", 1) + typ + b"\0" + struct.pack(">I", zlib.crc32(typ + b"\0"))
open(dst, "wb").write(data[:at] + chunk + data[at:])
EOF
}

make_pdf() {
	printf '%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%%%EOF\n' >"$1"
}

@test "images made by ImageMagick get their PRONOM PUIDs" {
	need_convert
	convert -size 16x16 xc:red a.png
	convert -size 16x16 xc:red a.jpg
	convert -size 16x16 xc:red a.gif
	convert -size 16x16 xc:red a.tif
	convert -size 16x16 xc:red a.bmp
	expect_puid a.png fmt/11     # PNG 1.0: no chunk of a later version
	expect_puid a.jpg fmt/43     # JFIF 1.01
	expect_puid a.gif fmt/4      # GIF 89a
	expect_puid a.tif fmt/353    # TIFF
	expect_puid a.bmp fmt/119    # Windows Bitmap 5.0
}

@test "PNG versions: an sRGB chunk makes 1.1, iTXt 1.2, and the later version outranks the earlier" {
	need_convert
	convert -size 4x4 xc:blue base.png
	png_with_chunk base.png sRGB v11.png
	png_with_chunk base.png iTXt v12.png
	expect_puid v11.png fmt/12
	expect_puid v12.png fmt/13
	# the basis names the signature and where it matched
	krun 0 identify --no-progress v12.png
	expect_stdout_has "v12.png: fmt/13 Portable Network Graphics 1.2 [image/png] (signature "
	expect_stdout_has " at 0-"
}

@test "PDF, WAV, ZIP, HTML, XML and plain text" {
	make_pdf a.pdf
	python3 -c '
import wave
w = wave.open("a.wav", "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(bytes(1600)); w.close()'
	make_office
	printf '<!DOCTYPE html>\n<html><head><title>t</title></head><body><p>hi</p></body></html>\n' >a.html
	printf '<?xml version="1.0" encoding="UTF-8"?>\n<root><a>1</a></root>\n' >a.xml
	printf 'hello plain text\n' >a.txt
	expect_puid a.pdf fmt/18       # PDF 1.4
	expect_puid a.wav fmt/141      # Waveform Audio (PCMWAVEFORMAT)
	expect_puid plain.zip x-fmt/263
	expect_puid a.html fmt/471     # HTML 5
	expect_puid a.xml fmt/101      # XML 1.0
	# plain text has no signature: by extension only, and flagged so
	run --separate-stderr "$KIST" identify --no-progress --format json a.txt
	expect_status 0
	python3 -c '
import json, sys
f = json.loads(sys.stdin.read())["files"][0]
m = f["matches"][0]
assert m["puid"] == "x-fmt/111" and m["basis"] == "extension", m
assert "identify.extension-only" in [w["code"] for w in f["warnings"]], f
assert f["magic"]["mime"] == "text/plain", f' <<<"$output"
}

@test "OOXML, ODF and EPUB: ZIP containers get their own PUIDs" {
	make_office
	expect_puid doc.docx fmt/412
	expect_puid book.xlsx fmt/214
	expect_puid slides.pptx fmt/215
	expect_puid text.odt fmt/290
	expect_puid sheet.ods fmt/294
	expect_puid book.epub fmt/483
	krun 0 identify --no-progress doc.docx
	expect_stdout_has "(container 1030 (ZIP): [Content_Types].xml)"
	# without container signatures a DOCX is a ZIP
	expect_puid plain.zip x-fmt/263
	krun 0 identify --no-progress --no-containers --format csv doc.docx
	expect_stdout_has ",x-fmt/263,"
}

@test "OLE2 compound documents: Word 97 and Excel 97 by their container signatures, other OLE2 stays OLE2" {
	make_ole2
	expect_puid letter.doc fmt/40
	expect_puid sums.xls fmt/61
	expect_puid other.ole fmt/111
	krun 0 identify --no-progress letter.doc
	expect_stdout_has "(container 1020 (OLE2): CompObj)"
}

@test "directories are walked in order; -j 1 and -j 2 give the same output" {
	make_office
	mkdir -p tree/sub
	mv doc.docx book.epub tree/
	mv plain.zip tree/sub/
	make_pdf tree/sub/z.pdf
	krun 0 identify --no-progress -j 1 tree
	expect_no_stderr
	local one=$output
	[ "${#lines[@]}" -eq 4 ] || flunk "expected 4 lines"
	[[ "${lines[0]}" == "tree/book.epub: "* ]] || flunk "not in order"
	[[ "${lines[3]}" == "tree/sub/z.pdf: fmt/18 "* ]] || flunk "not in order"
	krun 0 identify --no-progress -j 2 tree
	expect_output "$one"
}

@test "an extension that disagrees with the format is a warning; exit 0" {
	make_pdf real.pdf
	cp real.pdf report.doc
	krun 0 identify --no-progress report.doc real.pdf
	expect_stdout_has "report.doc: fmt/18 "
	expect_stderr_has "report.doc: extension 'doc' does not match the format found (fmt/18"
	expect_code identify.extension-mismatch
	refute_stderr_has "real.pdf"
}

@test "unknown, empty, truncated and too short files: reported, no crash" {
	need_convert
	printf '\x01\x02\x03 nothing known here \x04' >mystery.qqq
	: >empty.dat
	convert -size 16x16 xc:red full.png
	head -c 40 full.png >cut.png          # a PNG without its IEND
	printf 'GIF' >short.gif               # shorter than the signature
	head -c 3000 /dev/urandom >noise.bin
	krun 0 identify --no-progress mystery.qqq empty.dat cut.png short.gif
	expect_line "mystery.qqq: UNKNOWN [application/octet-stream] (magic: data)"
	expect_stdout_has "empty.dat: UNKNOWN [application/x-empty]"
	expect_stdout_has "cut.png: UNKNOWN [image/png]"
	expect_stdout_has "short.gif: UNKNOWN"
	expect_code identify.empty
	# a DOCX cut short: its formats have (container) signatures, so no
	# guess from the extension; unknown
	make_office
	head -c 300 doc.docx >cut.docx
	expect_puid cut.docx UNKNOWN
	run --separate-stderr "$KIST" identify --no-progress --format json empty.dat
	python3 -c '
import json, sys
f = json.loads(sys.stdin.read())["files"][0]
assert f["status"] == "unknown" and f["size"] == 0 and f["matches"] == [], f' <<<"$output"
}

@test "--format csv: a header, one row per match, readable by a CSV reader" {
	make_office
	make_pdf 'a, "quoted".pdf'
	krun 0 identify --no-progress --format csv doc.docx 'a, "quoted".pdf'
	expect_no_stderr
	[ "${lines[0]}" = $'path,size,puid,format,version,mime,basis,basis_detail,magic_mime,magic_description,warnings\r' ] ||
		flunk "bad header"
	python3 -c '
import csv, io, sys
rows = list(csv.DictReader(io.StringIO(sys.stdin.read(), newline="")))
assert len(rows) == 2, rows
d = {r["path"]: r for r in rows}
assert d["doc.docx"]["puid"] == "fmt/412" and d["doc.docx"]["basis"] == "container", d
p = d["a, \"quoted\".pdf"]
assert p["puid"] == "fmt/18" and p["version"] == "1.4" and p["mime"] == "application/pdf", p
assert p["magic_mime"] == "application/pdf" and p["magic_description"].startswith("PDF document"), p
assert p["basis"] == "signature" and p["basis_detail"].startswith("signature "), p' <<<"$output"
}

@test "--format droid-csv follows the column layout of DROID's CSV export" {
	make_office
	make_pdf a.pdf
	krun 0 identify --no-progress --format droid-csv a.pdf doc.docx
	python3 -c '
import csv, io, sys
rows = list(csv.reader(io.StringIO(sys.stdin.read(), newline="")))
head = ["ID","PARENT_ID","URI","FILE_PATH","NAME","METHOD","STATUS","SIZE","TYPE","EXT",
        "LAST_MODIFIED","EXTENSION_MISMATCH","HASH","FORMAT_COUNT","PUID","MIME_TYPE",
        "FORMAT_NAME","FORMAT_VERSION"]
assert rows[0] == head, rows[0]
r = dict(zip(head, rows[1]))
assert r["NAME"] == "a.pdf" and r["METHOD"] == "Signature" and r["STATUS"] == "Done", r
assert r["PUID"] == "fmt/18" and r["FORMAT_VERSION"] == "1.4" and r["EXT"] == "pdf", r
assert r["FORMAT_COUNT"] == "1" and r["EXTENSION_MISMATCH"] == "false" and r["TYPE"] == "File", r
assert r["URI"].startswith("file:/") and r["FILE_PATH"].endswith("/a.pdf"), r
r = dict(zip(head, rows[2]))
assert r["METHOD"] == "Container" and r["PUID"] == "fmt/412", r' <<<"$output"
}

@test "--format json: signature versions, matches with their basis, magic, warnings, findings" {
	make_pdf a.pdf
	cp a.pdf wrong.txt
	krun 0 identify --no-progress --format json a.pdf wrong.txt
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["signatures"] == {"version": "118", "container_version": "37"}, d["signatures"]
a, w = d["files"]
m = a["matches"][0]
assert m["puid"] == "fmt/18" and m["basis"] == "signature" and m["offset"] == 0 and m["end"] > 0, m
assert m["name"].startswith("Acrobat PDF 1.4") and m["mime"] == "application/pdf", m
assert a["magic"]["mime"] == "application/pdf", a
assert [x["code"] for x in w["warnings"]] == ["identify.extension-mismatch"], w
assert d["findings"][0]["code"] == "identify.extension-mismatch", d["findings"]
assert d["summary"] == {"files": 2, "unknown": 0}, d["summary"]' <<<"$output"
}

@test "--signatures and --container-signatures take other files; a bad one is exit 3" {
	make_office
	cat >sigs.xml <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<FFSignatureFile Version="1" xmlns="http://www.nationalarchives.gov.uk/pronom/SignatureFile">
<InternalSignatureCollection>
<InternalSignature ID="1"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>'PK'0304</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="2"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>4G</Sequence></SubSequence></ByteSequence></InternalSignature>
</InternalSignatureCollection>
<FileFormatCollection>
<FileFormat ID="1" Name="Some ZIP" PUID="x-fmt/263" Version="9"><InternalSignatureID>1</InternalSignatureID></FileFormat>
<FileFormat ID="2" Name="Broken" PUID="x-test/2"><InternalSignatureID>2</InternalSignatureID></FileFormat>
</FileFormatCollection>
</FFSignatureFile>
EOF
	krun 0 identify --no-progress --signatures sigs.xml --container-signatures '' plain.zip
	expect_stdout_has "plain.zip: x-fmt/263 Some ZIP 9 "
	expect_stderr_has "sigs.xml: internal signature 2: Sequence: bad hex digit"
	expect_code signature.invalid
	# the container file: default, or another one
	krun 0 identify --no-progress --signatures sigs.xml doc.docx
	expect_stdout_has "doc.docx: x-fmt/263 "   # Some ZIP: fmt/412 is not in sigs.xml
	expect_stderr_has "which the signature file does not know"
	krun 3 identify --no-progress --signatures nonexistent.xml plain.zip
	expect_no_stdout
	expect_stderr_has "nonexistent.xml"
	printf '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<FFSignatureFile>&e;</FFSignatureFile>\n' >evil.xml
	krun 3 identify --no-progress --signatures evil.xml plain.zip
	expect_no_stdout
	refute_stderr_has "root:"
	printf 'not xml at all <<<' >junk.xml
	krun 3 identify --no-progress --container-signatures junk.xml plain.zip
	expect_stderr_has "junk.xml is not well-formed XML"
	# the installed copy is looked up under KIST_DATADIR
	KIST_DATADIR=$PWD/nowhere krun 3 identify --no-progress plain.zip
	expect_stderr_has "nowhere/pronom/DROID_SignatureFile_V118.xml"
}

@test "missing files are errors (exit 1); usage errors exit 2 before anything is read" {
	make_pdf a.pdf
	krun 1 identify --no-progress a.pdf missing.pdf
	expect_stdout_has "a.pdf: fmt/18 "
	expect_code file.missing
	krun 2 identify
	expect_no_stdout
	krun 2 identify --format gnu a.pdf
	expect_no_stdout
	krun 2 identify --format xml a.pdf
	expect_no_stdout
	krun 2 identify --window 10 a.pdf
	expect_no_stdout
	expect_stderr_has "--window"
	krun 2 identify --bogus a.pdf
	expect_no_stdout
}

@test "a window too small for a signature's offsets finds less, never more" {
	# fmt/18 needs %%EOF within the last 1024 bytes; with a 512-byte window
	# at each end of a big file it is still seen (the tail is kept)
	make_pdf a.pdf
	python3 -c '
data = open("a.pdf", "rb").read()
cut = data.index(b"trailer")
open("big.pdf", "wb").write(data[:cut] + b"%" + b" " * 200000 + b"\n" + data[cut:])'
	expect_puid big.pdf fmt/18
	krun 0 identify --no-progress --window 512 big.pdf
	expect_stdout_has "big.pdf: fmt/18 "
}

@test "unreadable files are failures (exit 3) and the others are still identified" {
	make_pdf a.pdf
	make_pdf locked.pdf
	as_nobody_prepare
	chmod 000 locked.pdf
	nrun 3 identify --no-progress a.pdf locked.pdf
	expect_stdout_has "a.pdf: fmt/18 "
	expect_code file.unreadable
}

@test "libmagic's MIME type and description beside the PUID agree with file(1)" {
	command -v file >/dev/null || skip "file is not installed"
	make_office
	make_ole2
	make_pdf a.pdf
	printf 'hello plain text\n' >a.txt
	printf '<?xml version="1.0"?>\n<r/>\n' >a.xml
	head -c 5000 /dev/urandom >noise.bin
	tar cf a.tar a.txt a.xml
	gzip -c a.pdf >a.pdf.gz
	cp a.txt again.txt        # the same description twice: the remembered MIME type
	local f
	for f in *; do
		run --separate-stderr "$KIST" identify --no-progress --format json "$f"
		expect_status 0
		local got want_mime want_desc
		got=$(python3 -c 'import json,sys; m=json.loads(sys.stdin.read())["files"][0]["magic"]; print(m["mime"]); print(m["description"])' <<<"$output")
		want_mime=$(file -b --mime-type "$f")
		want_desc=$(file -b "$f")
		[ "$(sed -n 1p <<<"$got")" = "$want_mime" ] || flunk "$f: kist says $(sed -n 1p <<<"$got"), file says $want_mime"
		# libmagic sees the bytes kist kept, not the file: what file(1) reads
		# from the end through the descriptor (gzip's original size) is not there
		[[ "$want_desc" == "$(sed -n 2p <<<"$got")"* ]] ||
			flunk "$f: kist says '$(sed -n 2p <<<"$got")', file says '$want_desc'"
	done
}
