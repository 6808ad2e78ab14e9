#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into fuzz/corpus/<target>/ (fuzz/README.md).

Small valid and near-valid inputs in each target's input format (src/fuzzing.rs). The DNS
seeds are real responses of a dnsmasq started here on 127.0.0.1; the TLS seeds use the test
certificates of tests/fixtures/certs. Rerun after changing an input format:
    python3 fuzz/seeds.py
"""
import os
import socket
import struct
import subprocess
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CERTS = os.path.join(HERE, "..", "tests", "fixtures", "certs")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def u16(n):
    return struct.pack(">H", n)


# read_buf: [split][speclen][spec ...][stream]; a spec byte's low 2 bits: 0 count (u16),
# 1 delimiter (length byte, bytes), 2 bounded (length byte, bytes, limit u16), 3 sized (bit 2:
# chunk, else WebSocket frame; limit u16).
def spec_count(n):
    return bytes([0]) + u16(n)


def spec_delim(d):
    return bytes([1, len(d)]) + d


def spec_bounded(d, limit):
    return bytes([2, len(d)]) + d + u16(limit)


def spec_sized(chunk, limit):
    return bytes([3 | (4 if chunk else 0)]) + u16(limit)


def read_buf_seed(split, specs, stream):
    spec = b"".join(specs)
    return bytes([split, len(spec)]) + spec + stream


def read_buf():
    lines = b"first line\nsecond\r\nthird\n"
    write("read_buf", "lines", read_buf_seed(0, [spec_delim(b"\n")] * 3, lines))
    write("read_buf", "lines_split", read_buf_seed(7, [spec_delim(b"\r\n"), spec_delim(b"\n")], lines))
    write("read_buf", "counts", read_buf_seed(3, [spec_count(5), spec_count(0), spec_count(9)], b"hello, world!!"))
    write("read_buf", "bounded", read_buf_seed(
        1, [spec_bounded(b"\r\n\r\n", 16), spec_bounded(b"\r\n\r\n", 16)],
        b"GET / HTTP/1.1\r\n\r\nGET /aaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"))
    long = b"-" * 17
    write("read_buf", "long_delim", read_buf_seed(5, [spec_delim(long), spec_count(4)], b"body" + long + b"rest"))
    write("read_buf", "empty_delim", read_buf_seed(0, [spec_delim(b""), spec_count(3)], b"abc"))
    write("read_buf", "sized", read_buf_seed(
        2, [spec_sized(False, 200), spec_sized(True, 100), spec_sized(True, 100)],
        b"\x81\x05hello" + b"5\r\nhello\r\n0\r\n"))


def ws_frame(fin, opcode, payload, mask=None, rsv1=False, wide=None):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    m = 0x80 if mask else 0
    n = len(payload)
    if wide == 127 or n > 0xFFFF:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    elif wide == 126 or n >= 126:
        head = bytes([b0, m | 126]) + u16(n)
    else:
        head = bytes([b0, m | n])
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def websocket_frame():
    key = b"\x37\xfa\x21\x3d"

    def seed(name, stream, limit=4096, split=0, flags=1):
        write("websocket_frame", name, bytes([flags]) + u16(limit) + bytes([split]) + stream)

    seed("text_unmasked", ws_frame(True, 1, b"Hello"))
    seed("text_masked", ws_frame(True, 1, b"Hello", key), split=3)
    seed("fragmented", ws_frame(False, 1, b"Hel", key) + ws_frame(True, 0, b"lo", key))
    seed("control", ws_frame(True, 9, b"ping", key) + ws_frame(True, 10, b"ping") + ws_frame(True, 8, u16(1000) + b"bye", key))
    seed("len126", ws_frame(True, 2, bytes(range(256)) * 2, key), split=9)
    seed("len127", ws_frame(True, 2, b"x" * 300, None, wide=127))
    seed("over_limit", ws_frame(True, 2, b"y" * 200), limit=64)
    seed("reserved", bytes([0xB1, 0x00]) + bytes([0x83, 0x00]))
    c = zlib.compressobj(wbits=-15)
    z = c.compress(b"Hello, compressed world! " * 4) + c.flush(zlib.Z_SYNC_FLUSH)
    seed("deflate", ws_frame(True, 1, z[:-4], key, rsv1=True))


def http_head():
    def seed(name, stream, client=False, limit=16384, split=0):
        write("http_head", name, bytes([1 if client else 0]) + u16(limit) + bytes([split]) + stream)

    browser = (
        b"GET /index.html?q=1 HTTP/1.1\r\n"
        b"Host: localhost:8080\r\n"
        b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\n"
        b"Accept-Encoding: gzip, deflate, br\r\n"
        b"Connection: keep-alive\r\n"
        b"Cookie: session=abc123; theme=dark\r\n"
        b"Upgrade-Insecure-Requests: 1\r\n\r\n"
    )
    seed("browser_get", browser)
    seed("pipelined", browser + b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", split=11)
    seed("repeated_fields", b"GET / HTTP/1.0\r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a\r\nX-A: 3\r\n\r\n")
    seed("websocket_upgrade", b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    seed("long_line", b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\n", limit=64)
    seed("long_fields", b"GET / HTTP/1.1\r\nX: " + b"b" * 100 + b"\r\n\r\n", limit=64)
    seed("bad_version", b"GET / HTTP/2.0\r\n\r\n")
    seed("bad_field", b"GET / HTTP/1.1\r\nbad field: x\r\n\r\n")
    seed("response", b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
         b"Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n", client=True)
    seed("response_chunked", b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\nX: a\r\nx: b\r\n\r\n"
         b"HTTP/1.0 301 \r\nLocation: /x\r\n\r\n", client=True, split=5)


def http_chunk():
    def seed(name, stream, limit=1024, split=0):
        write("http_chunk", name, u16(limit) + bytes([split]) + stream)

    seed("simple", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    seed("split", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", split=13)
    seed("extensions", b"A;name=value;x=\"q\"\r\n0123456789\r\n0;last\r\n\r\n")
    seed("trailers", b"3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n")
    seed("upper_hex", b"1F\r\n" + b"z" * 31 + b"\r\n0\r\n\r\n")
    seed("bad_crlf", b"3\r\nabcXY0\r\n\r\n")
    seed("bad_size", b"zz\r\nabc\r\n")
    seed("over_limit", b"ffff\r\n" + b"q" * 100, limit=16)
    seed("huge_size", b"fffffffffffffff\r\nabc\r\n")


def tls_config():
    def pem(name):
        with open(os.path.join(CERTS, name), "rb") as f:
            return f.read()

    # flags: bit 0 client; bits 1-2 verify; bits 3-7 ciphers, ciphersuites, minversion,
    # maxversion, alpnprotos given. Fields: cert, key, ca, ciphers, ciphersuites, minversion,
    # maxversion, alpnprotos, sni.
    def seed(name, flags, cert=b"", key=b"", ca=b"", ciphers=b"", suites=b"", minv=b"", maxv=b"",
             alpn=b"", sni=b"localhost"):
        fields = [cert, key, ca, ciphers, suites, minv, maxv, alpn, sni]
        write("tls_config", name, bytes([flags]) + b"\xff".join(fields))

    seed("server_rsa", 0, pem("server-rsa-chain.crt"), pem("server-rsa.key"))
    seed("server_ec_sec1", 0, pem("server-ec-chain.crt"), pem("server-ec-sec1.key"))
    seed("server_pkcs1_alpn", 1 << 7, pem("server-rsa.crt"), pem("server-rsa-pkcs1.key"), alpn=b"h2,http/1.1")
    seed("server_mtls", 2 << 1 | 1 << 5, pem("server-ec.crt"), pem("server-ec.key"), pem("ca.crt"), minv=b"tlsv1_3")
    seed("server_sni_wildcard", 1 << 3 | 1 << 4, pem("example-chain.crt"), pem("example.key"),
         ciphers=b"ECDHE-RSA-AES128-GCM-SHA256:!aNULL", suites=b"TLS_AES_128_GCM_SHA256", sni=b"a.example.test")
    seed("server_encrypted_key", 0, pem("server-rsa.crt"), pem("server-rsa-encrypted.key"))
    seed("server_mismatch", 0, pem("server-rsa.crt"), pem("mismatch.key"))
    seed("server_selfsigned", 1 << 5 | 1 << 6, pem("selfsigned.crt"), pem("selfsigned.key"), minv=b"TLSv1.3", maxv=b"tlsv1_2")
    seed("client_ca", 1 | 1 << 1, ca=pem("ca.crt"))
    seed("client_mtls", 1 | 1 << 1 | 1 << 6, pem("client-chain.crt"), pem("client.key"), pem("ca.crt"), maxv=b"1.2")
    seed("client_insecure", 1 | 1 << 3, ciphers=b"HIGH:!MD5:ECDHE-ECDSA-CHACHA20-POLY1305")
    seed("client_expired_pinned", 1 | 1 << 1, ca=pem("expired.crt"), sni=b"*.x")


def dns_message():
    """Real responses: dnsmasq on a free port of 127.0.0.1, asked with hand-made queries."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([
        "dnsmasq", "--no-daemon", "--keep-in-foreground", f"--port={port}",
        "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
        "--user=root", "--local=/test/",
        "--host-record=h.test,192.0.2.2,2001:db8::2",
        "--host-record=many.test,192.0.2.10", "--host-record=many.test,192.0.2.11",
        "--cname=c.test,h.test", "--cname=cc.test,c.test",
        "--srv-host=_http._tcp.s.test,h.test,80,10,5",
        "--txt-record=t.test,hello",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)

        def ask(name, qtype, qid):
            q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
            for label in name.split("."):
                q += bytes([len(label)]) + label.encode()
            q += b"\x00" + struct.pack(">HH", qtype, 1)
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.settimeout(2)
            c.sendto(q, ("127.0.0.1", port))
            data = c.recv(4096)
            c.close()
            return data

        for i, (name, qtype, file) in enumerate([
            ("h.test", 1, "a"), ("h.test", 28, "aaaa"), ("c.test", 1, "cname_a"),
            ("cc.test", 28, "cname_chain_aaaa"), ("_http._tcp.s.test", 33, "srv"),
            ("nope.test", 1, "nxdomain"), ("many.test", 1, "two_a"), ("t.test", 16, "txt"),
            ("H.Test", 1, "mixed_case"),
        ]):
            write("dns_message", file, ask(name, qtype, 0x1234 + i))
    finally:
        proc.kill()
        proc.wait()
    # NXDOMAIN with an SOA in the authority section (what a real server gives negative TTLs
    # with); dnsmasq without an auth zone sends none.
    hdr = struct.pack(">HHHHHH", 0x4242, 0x8183, 1, 0, 1, 0)
    q = b"\x04nope\x04test\x00" + struct.pack(">HH", 1, 1)
    soa = (b"\x04test\x00" + struct.pack(">HHIH", 6, 1, 300, 0))
    rdata = b"\x02ns\xc0\x11" + b"\x05admin\xc0\x11" + struct.pack(">IIIII", 1, 7200, 900, 86400, 60)
    soa = soa[:-2] + u16(len(rdata)) + rdata
    write("dns_message", "nxdomain_soa", hdr + q + soa)


def resolv_conf():
    write("resolv_conf", "debian", b"# Generated by NetworkManager\nsearch example.com lan\nnameserver 127.0.0.53\noptions edns0 trust-ad\n")
    write("resolv_conf", "full", b"domain corp.example.\nsearch a.example b.example.\nnameserver 192.0.2.53\n"
          b"nameserver 2001:db8::53\nnameserver [2001:db8::54]:5353\nnameserver 192.0.2.55:53\n"
          b"options timeout:2 attempts:3 ndots:2 rotate\n; comment\noptions timeout:99 attempts:0 ndots:40\n")
    write("resolv_conf", "bad", b"nameserver\nnameserver not-an-ip\nnameserver fe80::1%eth0\noptions timeout: ndots:x\nsearch\n")


def hosts():
    write("hosts", "debian", b"127.0.0.1\tlocalhost\n127.0.1.1\tmyhost.example.org\tmyhost\n\n"
          b"# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\n"
          b"ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n")
    write("hosts", "odd", b"192.0.2.1 A.Example. a.example # trailing\n192.0.2.1 a.example\n"
          b"192.0.2.2 a.example;x\nnot-an-ip name\n2001:db8::1 a.example\n10.0.0.1 " + b"x" * 70 + b".example\n")


# http2: [piece - 1][maxheader: u16] then what a client sends (frames written by hand; header
# blocks from HPACK's static table: :method GET 0x82, POST 0x83, :scheme https 0x87, :path /
# 0x84, :authority literal 0x41).
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GET = b"\x82\x87\x84\x41\x09localhost"
POST = b"\x83\x87\x84\x41\x09localhost"


def frame(kind, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload


def http2():
    settings = frame(4, 0, 0, struct.pack(">HI", 4, 1 << 20))  # INITIAL_WINDOW_SIZE
    ack = frame(4, 1, 0)
    write("http2", "get", bytes([63]) + u16(16384) + PREFACE + settings + ack
          + frame(1, 5, 1, GET))
    write("http2", "post_body", bytes([16]) + u16(16384) + PREFACE + frame(4, 0, 0)
          + frame(1, 4, 1, POST) + frame(0, 0, 1, b"x" * 100) + frame(0, 1, 1, b"y" * 50)
          + frame(1, 5, 3, GET))
    write("http2", "continuation", bytes([7]) + u16(16384) + PREFACE + frame(4, 0, 0)
          + frame(1, 1, 1, GET[:3]) + frame(9, 4, 1, GET[3:]))
    write("http2", "reset_ping_goaway", bytes([255]) + u16(4096) + PREFACE + frame(4, 0, 0)
          + frame(1, 5, 1, GET) + frame(3, 0, 1, struct.pack(">I", 8))
          + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000))
          + frame(1, 5, 3, GET) + frame(7, 0, 0, struct.pack(">II", 3, 0)))


if __name__ == "__main__":
    http2()
    read_buf()
    websocket_frame()
    http_head()
    http_chunk()
    tls_config()
    dns_message()
    resolv_conf()
    hosts()
