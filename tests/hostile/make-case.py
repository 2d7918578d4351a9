#!/usr/bin/env python3
"""Makes one hostile case for tests/hostile/hostile.bats:

  make-case.py CASE DIR

DIR is made in the current folder, next to a folder "outside" holding
canary.txt (made by the test): every case tries to reach it. Bags are made
by hand here (hashlib), not by kist. Big files are written at test time,
never committed."""
import hashlib, os, sys

case, out = sys.argv[1], sys.argv[2]
CANARY = os.path.abspath("outside/canary.txt")
canary_sha = hashlib.sha256(open(CANARY, "rb").read()).hexdigest() if os.path.exists(CANARY) else "0" * 64
BAGIT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def write(path, data, mode="wb"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, mode) as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def sha(b):
    return hashlib.sha256(b).hexdigest()


def bag(extra_lines=b"", files=None, info=None):
    """A valid small bag with data/a.txt, plus extra manifest lines."""
    files = files or {"a.txt": b"inside\n"}
    os.makedirs(os.path.join(out, "data"), exist_ok=True)
    lines = b""
    size = 0
    for name, body in files.items():
        write(os.path.join(out, "data", name), body)
        lines += ("%s  data/%s\n" % (sha(body), name)).encode()
        size += len(body)
    write(os.path.join(out, "bagit.txt"), BAGIT)
    write(os.path.join(out, "bag-info.txt"), info if info is not None else
          "Payload-Oxum: %d.%d\n" % (size, len(files)))
    write(os.path.join(out, "manifest-sha256.txt"), lines + extra_lines)


def huge_line(path, prefix, n, suffix=b"\n"):
    """A file whose one line is n bytes long, written in 1 MiB pieces."""
    with open(path, "ab") as f:
        f.write(prefix)
        chunk = b"a" * (1 << 20)
        left = n
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
        f.write(suffix)


if case == "manifest-traversal":
    bad = ["data/../../outside/canary.txt", "../outside/canary.txt", CANARY,
           "data/./../../outside/canary.txt", "data/sub/../../../outside/canary.txt",
           "./../outside/canary.txt"]
    bag("".join("%s  %s\n" % (canary_sha, p) for p in bad).encode())
elif case == "fetch-traversal":
    bag()
    bad = ["../outside/new.txt", "data/../../outside/new.txt", os.path.abspath("outside/new.txt"),
           "data/sub/../../../outside/canary.txt"]
    write(os.path.join(out, "fetch.txt"),
          "".join("http://example.invalid/%d 38 %s\n" % (i, p) for i, p in enumerate(bad)))
elif case == "symlink-file":
    bag(("%s  data/link.txt\n" % canary_sha).encode())
    os.symlink("../../outside/canary.txt", os.path.join(out, "data", "link.txt"))
elif case == "symlink-data":
    os.makedirs(out)
    write(os.path.join(out, "bagit.txt"), BAGIT)
    write(os.path.join(out, "bag-info.txt"), "Payload-Oxum: 38.1\n")
    write(os.path.join(out, "manifest-sha256.txt"), "%s  data/canary.txt\n" % canary_sha)
    os.symlink("../outside", os.path.join(out, "data"))
elif case == "symlink-tags":
    bag()
    for name in ("manifest-sha256.txt", "bag-info.txt", "fetch.txt", "tagmanifest-sha256.txt"):
        p = os.path.join(out, name)
        if os.path.exists(p):
            os.unlink(p)
        os.symlink("../outside/canary.txt", p)
elif case == "bad-names":
    bag(b"%s  data/a\x00b.txt\n" % canary_sha.encode() +
        b"%s  data/\xff\xfe.txt\n" % canary_sha.encode() +
        b"%s  data/caf\xc3(.txt\n" % canary_sha.encode())
elif case == "bad-file-name":
    bag()
    write(os.path.join(out, "data").encode() + b"/caf\xe9.txt", b"latin-1 name\n")
elif case == "deep-folders":
    bag()
    fd = os.open(os.path.join(out, "data"), os.O_RDONLY)
    for i in range(3000):
        os.mkdir("d", dir_fd=fd)
        nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = nfd
    f = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, b"at the bottom\n")
    os.close(f)
    os.close(fd)
elif case == "huge-manifest-line":
    bag()
    huge_line(os.path.join(out, "manifest-sha256.txt"), canary_sha.encode() + b"  data/", 300 << 20)
elif case == "huge-tag-files":
    bag()
    huge_line(os.path.join(out, "fetch.txt"), b"http://example.invalid/", 300 << 20, b" 1 data/x\n")
    write(os.path.join(out, "bag-info.txt"), b"Payload-Oxum: 7.1\nDescription: ")
    huge_line(os.path.join(out, "bag-info.txt"), b"", 100 << 20)
elif case.startswith("premis-"):
    bag()
    ns = 'xmlns="http://www.loc.gov/premis/v3" version="3.0"'
    if case == "premis-bomb":
        ents = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
            '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
        doc = '<?xml version="1.0"?>\n<!DOCTYPE premis [%s]>\n<premis %s><event><eventDetailInformation>' \
              '<eventDetail>&lol9;</eventDetail></eventDetailInformation></event></premis>\n' % (ents, ns)
    elif case == "premis-xxe":
        doc = '<?xml version="1.0"?>\n<!DOCTYPE premis [<!ENTITY x SYSTEM "file://%s">]>\n' \
              '<premis %s><event><eventIdentifier><eventIdentifierType>local</eventIdentifierType>' \
              '<eventIdentifierValue>&x;</eventIdentifierValue></eventIdentifier></event></premis>\n' % (CANARY, ns)
    elif case == "premis-deep":
        doc = '<?xml version="1.0"?>\n<premis %s>' % ns + "<object>" * 100000 + "</object>" * 100000 + "</premis>\n"
    else:
        sys.exit("unknown case " + case)
    write(os.path.join(out, "metadata", "premis.xml"), doc)
elif case == "signature-xml":
    ns = 'xmlns="http://www.nationalarchives.gov.uk/pronom/SignatureFile" Version="1"'
    ents = '<!ENTITY lol0 "lollollollollollollollollollol">' + "".join(
        '<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
    write(os.path.join(out, "bomb.xml"),
          '<?xml version="1.0"?>\n<!DOCTYPE FFSignatureFile [%s]>\n<FFSignatureFile %s>'
          '<InternalSignatureCollection/><FileFormatCollection><FileFormat ID="1" Name="&lol9;" PUID="x/1"/>'
          '</FileFormatCollection></FFSignatureFile>\n' % (ents, ns))
    write(os.path.join(out, "xxe.xml"),
          '<?xml version="1.0"?>\n<!DOCTYPE FFSignatureFile [<!ENTITY x SYSTEM "file://%s">]>\n'
          '<FFSignatureFile %s><InternalSignatureCollection/><FileFormatCollection>'
          '<FileFormat ID="1" Name="&x;" PUID="x/1"/></FileFormatCollection></FFSignatureFile>\n' % (CANARY, ns))
    write(os.path.join(out, "container-xxe.xml"),
          '<?xml version="1.0"?>\n<!DOCTYPE ContainerSignatureMapping [<!ENTITY x SYSTEM "file://%s">]>\n'
          '<ContainerSignatureMapping schemaVersion="1.0" signatureVersion="1"><ContainerSignatures>'
          '<ContainerSignature Id="1" ContainerType="ZIP"><Description>&x;</Description></ContainerSignature>'
          '</ContainerSignatures></ContainerSignatureMapping>\n' % CANARY)
elif case in ("tar-traversal", "zip-traversal", "zip-bomb"):
    # a good small bag, then entries that try to leave DIR when unpacked
    import io, tarfile, zipfile
    payload = b"inside\n"
    man = ("%s  data/a.txt\n" % sha(payload)).encode()
    good = [("bag/bagit.txt", BAGIT), ("bag/bag-info.txt", b"Payload-Oxum: 7.1\n"),
            ("bag/manifest-sha256.txt", man), ("bag/data/a.txt", payload)]
    evil = ["bag/data/../../../outside/escape.txt", "../outside/escape.txt",
            os.path.abspath("outside/escape.txt"), "bag/../../outside/escape.txt"]
    os.makedirs(out, exist_ok=True)
    if case == "tar-traversal":
        with tarfile.open(os.path.join(out, "evil.tar"), "w", format=tarfile.GNU_FORMAT) as t:
            for n, body in good + [(e, b"escaped\n") for e in evil]:
                ti = tarfile.TarInfo(n)
                ti.size = len(body)
                t.addfile(ti, io.BytesIO(body))
            # a symlink out, then a file written through it; a hard link to outside
            ti = tarfile.TarInfo("bag/data/link")
            ti.type, ti.linkname = tarfile.SYMTYPE, "../../../outside"
            t.addfile(ti)
            ti = tarfile.TarInfo("bag/data/link/through.txt")
            ti.size = 8
            t.addfile(ti, io.BytesIO(b"through\n"))
            ti = tarfile.TarInfo("bag/data/hard")
            ti.type, ti.linkname = tarfile.LNKTYPE, CANARY
            t.addfile(ti)
    elif case == "zip-traversal":
        with zipfile.ZipFile(os.path.join(out, "evil.zip"), "w") as z:
            for n, body in good + [(e, b"escaped\n") for e in evil]:
                z.writestr(n, body)
    else:
        # 1 GiB of zeros deflated to about 1 MiB, listed in the manifest
        zeros = hashlib.sha256()
        chunk = bytes(1 << 20)
        for i in range(1024):
            zeros.update(chunk)
        man2 = man + ("%s  data/zeros.bin\n" % zeros.hexdigest()).encode()
        with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
            for n, body in good:
                z.writestr(n, man2 if n.endswith("manifest-sha256.txt") else
                           b"Payload-Oxum: %d.2\n" % (7 + (1 << 30)) if n.endswith("bag-info.txt") else body)
            with z.open("bag/data/zeros.bin", "w", force_zip64=True) as f:
                for i in range(1024):
                    f.write(chunk)
elif case == "profile-deep":
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "deep.json"), '{"BagIt-Profile-Info":' + "[" * 100000 + "]" * 100000 + "}")
    write(os.path.join(out, "deep-object.json"), '{"a":' * 100000 + "1" + "}" * 100000)
    with open(os.path.join(out, "huge.json"), "wb") as f:
        f.write(b'{"BagIt-Profile-Info":{"Source-Organization":"')
        f.write(b"x" * (300 << 20))
        f.write(b'"}}')
else:
    sys.exit("unknown case " + case)
