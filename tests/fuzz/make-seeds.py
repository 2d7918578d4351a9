#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (run once; the seeds are
committed). Inputs that once crashed a target are added there by hand, named
crash-*, and are never regenerated."""
import hashlib, io, os, struct, sys, zipfile

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(top, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# taginfo: first byte = rules (bit 0 legacy, bits 1-2 encoding: none, UTF-8, UTF-16, ISO-8859-1)
put("taginfo", "bagit", b"\x00BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
put("taginfo", "baginfo", b"\x02Source-Organization: Example\nPayload-Oxum: 6.1\n"
    b"External-Description: a long value\n  continued on the next line\n\tand a tab\nBagging-Date: 2026-11-27\n")
put("taginfo", "legacy", b"\x01BagIt-Version : 0.96\r\nTag-File-Character-Encoding : UTF-8\r\n\r\nX:y\n")
put("taginfo", "utf16", b"\x04" + "\ufeffBagIt-Version: 1.0\nContact-Name: Zoë\n".encode("utf-16-le"))
put("taginfo", "latin1", b"\x06Contact-Name: Zo\xeb\nPayload-Oxum: 12x.3\n")
put("taginfo", "bom", b"\x00\xef\xbb\xbfBagIt-Version: 1.0\n")
put("taginfo", "bad", b"\x00no colon here\n: no label\nLabel:\n\x00nul: x\n")

# bag: bagit.txt, bag-info.txt, manifest-sha256.txt, manifest-md5.txt, tagmanifest-sha256.txt, fetch.txt
SEP = b"#--\n"
a, b = b"hello\n", b""
bagit = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
info = b"Payload-Oxum: 6.2\nBagging-Date: 2026-11-27\n"
man256 = ("%s  data/a.txt\n%s  data/sub/b.txt\n" % (hashlib.sha256(a).hexdigest(),
                                                   hashlib.sha256(b).hexdigest())).encode()
man5 = ("%s  data/a.txt\n%s *data/sub/b.txt\n" % (hashlib.md5(a).hexdigest(),
                                                 hashlib.md5(b).hexdigest())).encode()
tagman = ("%s  bagit.txt\n%s  bag-info.txt\n" % (hashlib.sha256(bagit).hexdigest(),
                                                 hashlib.sha256(info).hexdigest())).encode()
fetch = b"https://example.org/c.txt 12 data/c.txt\nhttp://example.org/d%20e - data/d%20e\n"
put("bag", "valid", SEP.join([bagit, info, man256, man5, tagman]))
put("bag", "fetch", SEP.join([bagit, info, man256, b"", b"", fetch]))
put("bag", "old", SEP.join([b"BagIt-Version: 0.96\nTag-File-Character-Encoding: ISO-8859-1\n", info,
                            man256.replace(b"data/a.txt", b"data/%61.txt")]))
put("bag", "hostile", SEP.join([bagit, info, b"00  ../../etc/passwd\n" + man256 + b"ab data/x\n\n",
                                b"", b"", b"http://x 1 /etc/shadow\nftp://y 2 data/../../z\n"]))
put("bag", "utf16", SEP.join([b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16\n",
                              "\ufeffPayload-Oxum: 6.2\n".encode("utf-16-le"),
                              ("\ufeff" + man256.decode()).encode("utf-16-le")]))

# premis: a small document as kist writes it, and some broken ones
premis = open(os.path.join(os.path.dirname(__file__), "seed-premis.xml"), "rb").read() \
    if os.path.exists(os.path.join(os.path.dirname(__file__), "seed-premis.xml")) else None
if premis:
    put("premis", "kist", premis)
    put("premis", "truncated", premis[:len(premis) // 2])
put("premis", "doctype", b'<?xml version="1.0"?><!DOCTYPE premis [<!ENTITY a "aaaa">]>'
    b'<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">&a;</premis>')
put("premis", "deep", b'<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">' + b"<event>" * 300)

# signature: first byte even = DROID signature file, odd = container signature file
droid = b'''<?xml version="1.0" encoding="UTF-8"?>
<FFSignatureFile DateCreated="2024-04-29T13:46:04" Version="1" xmlns="http://www.nationalarchives.gov.uk/pronom/SignatureFile">
<InternalSignatureCollection>
<InternalSignature ID="1" Specificity="Specific"><ByteSequence Reference="BOFoffset">
<SubSequence Position="1" SubSeqMaxOffset="0" SubSeqMinOffset="0"><Sequence>89504E470D0A1A0A</Sequence>
<RightFragment MaxOffset="4" MinOffset="4" Position="1">49484452</RightFragment></SubSequence></ByteSequence>
<ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMaxOffset="0" SubSeqMinOffset="0">
<Sequence>49454E44AE426082</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="2" Specificity="Generic"><ByteSequence Reference="BOFoffset">
<SubSequence Position="1" SubSeqMaxOffset="1024" SubSeqMinOffset="0"><Sequence>25504446{0-4}2D[30:39]2E(30|31|32)</Sequence>
<LeftFragment MaxOffset="2" MinOffset="0" Position="1">[!00]</LeftFragment></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="3" Specificity="Generic"><ByteSequence Reference="Variable">
<SubSequence Position="1"><Sequence>'GIF8'(37|39)61*3B</Sequence></SubSequence></ByteSequence></InternalSignature>
</InternalSignatureCollection>
<FileFormatCollection>
<FileFormat ID="1" MIMEType="image/png" Name="PNG" PUID="fmt/11" Version="1.0"><InternalSignatureID>1</InternalSignatureID><Extension>png</Extension><HasPriorityOverFileFormatID>2</HasPriorityOverFileFormatID></FileFormat>
<FileFormat ID="2" Name="PDF" PUID="fmt/18"><InternalSignatureID>2</InternalSignatureID><Extension>pdf</Extension></FileFormat>
<FileFormat ID="3" Name="GIF" PUID="fmt/4"><InternalSignatureID>3</InternalSignatureID><InternalSignatureID>99</InternalSignatureID></FileFormat>
<FileFormat ID="4" Name="ZIP" PUID="x-fmt/263"><Extension>zip</Extension></FileFormat>
</FileFormatCollection></FFSignatureFile>
'''
put("signature", "droid", b"\x00" + droid)
cont = open(os.path.join(os.path.dirname(__file__), "..", "..", "data", "pronom",
                         "container-signature-20240501.xml"), "rb").read()
put("signature", "container-head", b"\x01" + cont[:cont.index(b"</ContainerSignature>", 6000)]
    + b"</ContainerSignature></ContainerSignatures></ContainerSignatureMapping>\n")
put("signature", "doctype", b'\x00<?xml version="1.0"?><!DOCTYPE FFSignatureFile [<!ENTITY x SYSTEM "file:///etc/passwd">]><FFSignatureFile>&x;</FFSignatureFile>')

# pattern: PATTERN NUL BYTES
put("pattern", "png", b"89504E47{2-4}[!00](0A|0D)??'IEND'\x00\x89PNG\r\n\x1a\n\x01\x0a\x00\x00IEND")
put("pattern", "alt", b"('ab'|'cd'|[61:63]{1-3}'z')*'end'\x00xxabzzcdaazend")
put("pattern", "gaps", b"00{0-*}FF{100000000}01\x00" + bytes(range(256)))
put("pattern", "bad", b"[!'a'-'z'](((\x00abc")


# identify: raw files
def zipbytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, body in entries:
            z.writestr(n, body)
    return buf.getvalue()


put("identify", "png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(30) + b"IEND\xaeB`\x82")
put("identify", "pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
put("identify", "gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
put("identify", "docx", b"\x01" + zipbytes([
    ("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
     'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
     'officedocument.wordprocessingml.document.main+xml"/></Types>'),
    ("_rels/.rels", "<Relationships/>"), ("word/document.xml", "<w:document/>")])[1:])
put("identify", "zip", zipbytes([("readme.txt", "just a zip")]))


def cfb(n1, d1, n2, d2):
    """A version 3 compound file with two small streams in the mini stream
    (as tests/unit/test-identify.c's make_cfb)."""
    m1, m2 = (len(d1) + 63) // 64, (len(d2) + 63) // 64
    mini = (m1 + m2) * 64
    msec = (mini + 511) // 512
    out = bytearray(2048 + msec * 512)
    p32 = lambda off, v: struct.pack_into("<I", out, off, v)
    out[0:8] = bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
    out[0x18], out[0x1A], out[0x1C], out[0x1D], out[0x1E], out[0x20] = 0x3E, 3, 0xFE, 0xFF, 9, 6
    p32(0x2C, 1); p32(0x30, 1); p32(0x38, 4096); p32(0x3C, 2); p32(0x40, 1); p32(0x44, 0xFFFFFFFE)
    p32(0x4C, 0)
    for i in range(1, 109):
        p32(0x4C + 4 * i, 0xFFFFFFFF)
    fat, dr, minifat, ms = 512, 1024, 1536, 2048
    for i in range(128):
        p32(fat + 4 * i, 0xFFFFFFFF)
        p32(minifat + 4 * i, 0xFFFFFFFF)
    p32(fat, 0xFFFFFFFD); p32(fat + 4, 0xFFFFFFFE); p32(fat + 8, 0xFFFFFFFE)
    for i in range(msec):
        p32(fat + 4 * (3 + i), 4 + i if i + 1 < msec else 0xFFFFFFFE)
    for i in range(m1):
        p32(minifat + 4 * i, i + 1 if i + 1 < m1 else 0xFFFFFFFE)
    for i in range(m2):
        p32(minifat + 4 * (m1 + i), m1 + i + 1 if i + 1 < m2 else 0xFFFFFFFE)
    out[ms:ms + len(d1)] = d1
    out[ms + m1 * 64:ms + m1 * 64 + len(d2)] = d2

    def ent(off, name, typ, left, right, child, start, size):
        nm = name.encode("latin-1")
        for i, c in enumerate(nm):
            out[off + 2 * i] = c
        out[off + 64] = 2 * len(nm) + 2 if nm else 0
        out[off + 66], out[off + 67] = typ, 1
        p32(off + 68, left); p32(off + 72, right); p32(off + 76, child)
        p32(off + 116, start); p32(off + 120, size)
    ent(dr, "Root Entry", 5, 0xFFFFFFFF, 0xFFFFFFFF, 1, 3, mini)
    ent(dr + 128, n1, 2, 0xFFFFFFFF, 2, 0xFFFFFFFF, 0, len(d1))
    ent(dr + 256, n2, 2, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, m1, len(d2))
    ent(dr + 384, "", 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0, 0)
    return bytes(out)


compobj = bytearray(120)
compobj[40:59] = b"\x10\x00\x00\x00Word.Document.8"
put("identify", "doc", cfb("WordDocument", b"\xEC\xA5\xC1\x00", "\x01CompObj", bytes(compobj)))
put("identify", "xls", cfb("Workbook", bytes([9, 8, 0x10, 0, 0, 6, 5, 0]) + bytes(56), "\x05SummaryInformation", b"x"))

# profile: BagIt profiles (JSON)
pdir = os.path.join(os.path.dirname(__file__), "..", "data", "profiles")
for name in sorted(os.listdir(pdir)) if os.path.isdir(pdir) else []:
    put("profile", name[:-5], open(os.path.join(pdir, name), "rb").read())
put("profile", "deep", b"[" * 200 + b"]" * 200)
put("profile", "types", b'{"BagIt-Profile-Info":{"BagIt-Profile-Identifier":1,"Source-Organization":[]},'
    b'"Bag-Info":{"X":{"required":"yes","values":[1,2]}},"Manifests-Required":"md5",'
    b'"Accept-BagIt-Version":["1.0"],"Serialization":"sometimes"}')


# archive: first byte even = .tar, odd = .zip; a small bag in each
def bag_files(top):
    payload = b"hello\n"
    man = ("%s  data/a.txt\n" % hashlib.sha256(payload).hexdigest()).encode()
    info = b"Payload-Oxum: 6.1\n"
    tagman = ("%s  bagit.txt\n%s  bag-info.txt\n%s  manifest-sha256.txt\n" % (
        hashlib.sha256(bagit).hexdigest(), hashlib.sha256(info).hexdigest(),
        hashlib.sha256(man).hexdigest())).encode()
    return [(top + "/bagit.txt", bagit), (top + "/bag-info.txt", info), (top + "/manifest-sha256.txt", man),
            (top + "/tagmanifest-sha256.txt", tagman), (top + "/data/a.txt", payload)]


def tarbytes(entries, extra=None):
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for n, body in entries:
            ti = tarfile.TarInfo(n)
            ti.size = len(body)
            t.addfile(ti, io.BytesIO(body))
        for ti in extra or []:
            t.addfile(ti)
    return buf.getvalue()


import tarfile
put("archive", "tar", b"\x00" + tarbytes(bag_files("bag")))
put("archive", "zip", b"\x01" + zipbytes(bag_files("bag")))
evil = tarfile.TarInfo("bag/data/link")
evil.type, evil.linkname = tarfile.SYMTYPE, "../../../etc/passwd"
put("archive", "tar-evil", b"\x00" + tarbytes(bag_files("bag") + [("bag/../escape.txt", b"x"), ("/abs.txt", b"y")],
                                              [evil]))
put("archive", "zip-evil", b"\x01" + zipbytes(bag_files("bag") + [("bag/../../escape.txt", "x")]))
