#!/usr/bin/env bash
# Scans the HTTPS example (examples/https_server.lua) with testssl.sh and prints what it found
# above INFO level.
#
#   scripts/testssl.sh          # builds target/release/silly if missing; SILLY=path to override
#
# Findings that only come from the development certificate are left out: it is issued by a
# private test CA (chain of trust), has no revocation information (CRL, OCSP, OCSP stapling,
# must-staple), its host has no CAA record, and its 20-year lifetime is longer than public CAs
# allow (validity period). Everything else testssl reports at LOW or above is printed;
# findings about the example's HTTP headers (HSTS, security headers) are marked "(http)" and
# do not count, since they describe the demo's response, not its TLS.
# Exit status: 0 when nothing at MEDIUM or above remains, 1 otherwise, 2 when the scan failed.
# Installs testssl.sh with apt-get when it is missing (Debian package `testssl.sh`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v testssl >/dev/null && ! command -v testssl.sh >/dev/null; then
	echo "testssl: installing the testssl.sh package" >&2
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq testssl.sh
fi
scanner=$(command -v testssl || command -v testssl.sh)

silly=${SILLY:-target/release/silly}
[ -x "$silly" ] || cargo build --release

work=$(mktemp -d)
server=
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

"$silly" examples/https_server.lua --addr=127.0.0.1:0 >"$work/server.out" 2>&1 &
server=$!
addr=
for _ in $(seq 100); do
	addr=$(sed -n 's/^HTTPS server listening on //p' "$work/server.out")
	[ -n "$addr" ] && break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "testssl: the HTTPS example did not start:" >&2
	cat "$work/server.out" >&2
	exit 2
fi
port=${addr##*:}
echo "testssl: scanning the HTTPS example at localhost:$port ($scanner)" >&2

# --ip pins the address the example listens on; the name is what the certificate carries.
"$scanner" --quiet --color 0 --warnings off --ip 127.0.0.1 \
	--jsonfile "$work/scan.json" "localhost:$port" >"$work/scan.txt" 2>&1 || true
if [ ! -s "$work/scan.json" ]; then
	echo "testssl: the scan produced no results:" >&2
	tail -40 "$work/scan.txt" >&2
	exit 2
fi

python3 - "$work/scan.json" <<'EOF'
import json, re, sys

# Finding ids that only describe the development certificate's trust and lifetime.
CERT_ONLY = re.compile(
    r"^(cert_chain_of_trust|cert_revocation|cert_trust|cert_validityPeriod|cert_expirationStatus"
    r"|cert_crlDistributionPoints|cert_ocspURL|OCSP_stapling|cert_mustStapleExtension"
    r"|cert_ocspRevoked|cert_crlRevoked|DNS_CAArecord|cert_caIssuers"
    r"|intermediate_cert_.*|cert_extlifeSpan)(\b|$|<)")
# HTTP response headers of the example (HSTS, security headers): about the demo application,
# not about TLS. Shown, never counted.
HTTP_ONLY = re.compile(r"^(HSTS|HPKP|security_headers|banner_.*|cookie_.*)$")
ORDER = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN"]

findings = json.load(open(sys.argv[1]))
shown, ignored, serious = [], 0, 0
for f in findings:
    sev = f.get("severity", "")
    if sev not in ORDER:
        continue
    if CERT_ONLY.match(f.get("id", "")):
        ignored += 1
        continue
    shown.append(f)
    if HTTP_ONLY.match(f.get("id", "")):
        f["severity"] += " (http)"
        continue
    if sev in ("MEDIUM", "HIGH", "CRITICAL"):
        serious += 1
protos = {f["id"]: f.get("finding", "") for f in findings
          if f.get("id") in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")}
print("protocols: " + ", ".join(f"{k} {v}" for k, v in protos.items()))
shown.sort(key=lambda f: -ORDER.index(f["severity"].split()[0]))
for f in shown:
    print(f"{f['severity']:15} {f['id']}: {f.get('finding', '')}")
print(f"testssl: {len(findings)} results, {len(shown)} above INFO shown, "
      f"{ignored} about the development certificate ignored, {serious} at MEDIUM or above")
sys.exit(1 if serious else 0)
EOF
