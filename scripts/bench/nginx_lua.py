#!/usr/bin/env python3
"""The nginx + Lua (OpenResty's engine: Debian's libnginx-mod-http-lua) peer of the HTTP
benchmarks: one nginx process (master_process off) with its own config, prefix and temp
directory, answering every request from `content_by_lua_block` with the same body as the silly
servers. Never a system service.

    python3 scripts/bench/nginx_lua.py PORT [--tls [--h2]]

Prints "ready pid=N" once nginx listens (N is the nginx process the benchmark measures), and
runs until killed; nginx dies with it (PR_SET_PDEATHSIG).
"""
import ctypes, os, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
port = int(sys.argv[1])
tls = "--tls" in sys.argv[2:]
# --h2: offer HTTP/2 by ALPN on the TLS listener (the HTTP/2 rows).
h2 = "--h2" in sys.argv[2:]
prefix = tempfile.mkdtemp(prefix="silly-bench-nginx-")
for d in ("logs", "tmp"):
    os.makedirs(os.path.join(prefix, d))
certs = os.path.join(ROOT, "tests", "fixtures", "certs")
listen = f"127.0.0.1:{port}" + (" ssl" if tls else "") + (" http2" if h2 else "")
ssl = (f"ssl_certificate {certs}/server-rsa-chain.crt; ssl_certificate_key {certs}/server-rsa.key;"
       if tls else "")
conf = f"""
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/logs/error.log error;
pid {prefix}/nginx.pid;
worker_rlimit_nofile 65536;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    keepalive_requests 1000000;
    server {{
        listen {listen};
        {ssl}
        location / {{
            default_type text/plain;
            content_by_lua_block {{ ngx.print("hello, world\\n") }}
        }}
    }}
}}
"""
path = os.path.join(prefix, "nginx.conf")
with open(path, "w") as f:
    f.write(conf)
libc = ctypes.CDLL("libc.so.6", use_errno=True)
def die_with_parent():
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
p = subprocess.Popen(["nginx", "-c", path, "-p", prefix], preexec_fn=die_with_parent,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
deadline = time.monotonic() + 10
while True:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        break
    except OSError:
        if p.poll() is not None or time.monotonic() > deadline:
            sys.exit("nginx did not start: " + p.stderr.read().decode(errors="replace")[-2000:])
        time.sleep(0.02)
print(f"ready pid={p.pid}", flush=True)
p.wait()
