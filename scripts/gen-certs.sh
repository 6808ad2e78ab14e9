#!/usr/bin/env bash
# Regenerates the TLS test fixtures in tests/fixtures/certs/ and the development certificate
# in examples/certs/ with the openssl command-line tool (a test-time tool only: the silly
# binary links no OpenSSL).
#
#   scripts/gen-certs.sh            # writes both directories, replacing what is there
#
# Everything is valid for 20 years except expired.crt, which expired on purpose. See
# tests/fixtures/certs/README.md for what each file is for.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/certs"
ex="$root/examples/certs"
days=7300 # 20 years: the fixtures must not expire under the test suite

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$ex"

# Extension sections used by the signing steps below. Leaf certificates are end-entity
# certificates with the usual serverAuth/clientAuth usages, so strict verifiers (rustls,
# Python, curl) accept them.
cat >"$work/ext.cnf" <<'EOF'
[root_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[server_localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[server_example]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:example.test, DNS:*.example.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[server_wrongname]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

rsa_key() { openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
ec_key() { openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }

# sign <key> <subject> <issuer-cert> <issuer-key> <ext-section> <out-cert>
sign() {
	openssl req -new -key "$1" -subj "$2" -out "$work/req.csr"
	openssl x509 -req -in "$work/req.csr" -CA "$3" -CAkey "$4" -CAcreateserial \
		-CAserial "$work/serial" -days "$days" -sha256 \
		-extfile "$work/ext.cnf" -extensions "$5" -out "$6" 2>/dev/null
}

cd "$out"

# The trust chain: root CA -> intermediate CA -> leaves.
rsa_key ca.key
cat "$work/ext.cnf" >"$work/req.cnf"
printf '[req]\ndistinguished_name = dn\n[dn]\n' >>"$work/req.cnf"
openssl req -new -x509 -key ca.key -subj "/CN=silly test root CA" -days "$days" -sha256 \
	-config "$work/req.cnf" -extensions root_ca -out ca.crt
rsa_key intermediate.key
sign intermediate.key "/CN=silly test intermediate CA" ca.crt ca.key intermediate_ca intermediate.crt

# localhost leaves, RSA and ECDSA; *-chain.crt is leaf + intermediate, what a server sends.
rsa_key server-rsa.key
sign server-rsa.key "/CN=localhost" intermediate.crt intermediate.key server_localhost server-rsa.crt
cat server-rsa.crt intermediate.crt >server-rsa-chain.crt
ec_key server-ec.key
sign server-ec.key "/CN=localhost" intermediate.crt intermediate.key server_localhost server-ec.crt
cat server-ec.crt intermediate.crt >server-ec-chain.crt

# Another name, for SNI selection.
rsa_key example.key
sign example.key "/CN=example.test" intermediate.crt intermediate.key server_example example.crt
cat example.crt intermediate.crt >example-chain.crt

# A valid chain whose name matches neither localhost nor 127.0.0.1.
rsa_key wrongname.key
sign wrongname.key "/CN=wrong.invalid" intermediate.crt intermediate.key server_wrongname wrongname.crt
cat wrongname.crt intermediate.crt >wrongname-chain.crt

# Expired on purpose: valid 2020-01-01 .. 2021-01-01. openssl 3.0's x509 has no -not_before,
# so this one goes through `openssl ca`, which takes explicit start and end dates.
rsa_key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out "$work/expired.csr"
mkdir -p "$work/ca"
: >"$work/ca/index.txt"
echo 1000 >"$work/ca/serial"
cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = expired
[expired]
database = $work/ca/index.txt
serial = $work/ca/serial
new_certs_dir = $work/ca
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
EOF
cat "$work/ext.cnf" >>"$work/ca.cnf"
openssl ca -batch -config "$work/ca.cnf" -cert intermediate.crt -keyfile intermediate.key \
	-startdate 20200101000000Z -enddate 20210101000000Z -extensions server_localhost \
	-in "$work/expired.csr" -out "$work/expired.full" 2>/dev/null
openssl x509 -in "$work/expired.full" -out expired.crt # drop the text dump `ca` prepends
cat expired.crt intermediate.crt >expired-chain.crt

# A key that does not belong to server-rsa.crt (a fresh RSA key of the same size).
rsa_key mismatch.key

# server-rsa.key encrypted with the passphrase "silly" (docs/tls.md: must be refused, not prompt).
openssl pkey -in server-rsa.key -aes256 -passout pass:silly -out server-rsa-encrypted.key

# The same RSA key in the legacy PKCS#1 form and the EC key in SEC1 form (docs/tls.md#certificates-and-keys).
openssl pkey -in server-rsa.key -traditional -out server-rsa-pkcs1.key
openssl pkey -in server-ec.key -traditional -out server-ec-sec1.key

# Client certificate for mutual TLS, issued by the intermediate.
ec_key client.key
sign client.key "/CN=silly test client" intermediate.crt intermediate.key client client.crt
cat client.crt intermediate.crt >client-chain.crt

# Seed style: a self-signed RSA certificate made the way the seed's embedded one was
# (`openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost`): CA:TRUE, CN=localhost and
# no subjectAltName, so name checks only pass through CN fallback or by pinning it.
openssl req -x509 -newkey rsa:2048 -nodes -keyout selfsigned.key -out selfsigned.crt \
	-subj "/CN=localhost" -days "$days" 2>/dev/null

# A second CN-only self-signed pair, CN=localhost2, for the reload example's v2 identity.
openssl req -x509 -newkey rsa:2048 -nodes -keyout selfsigned2.key -out selfsigned2.crt \
	-subj "/CN=localhost2" -days "$days" 2>/dev/null

rm -f "$work/serial"

# Development certificate for examples/: a localhost chain from the test CA, plus a second
# identity (CN=localhost2) for the hot-reload example.
cp ca.crt "$ex/ca.crt"
cp server-rsa-chain.crt "$ex/localhost.crt"
cp server-rsa.key "$ex/localhost.key"
rsa_key "$ex/localhost2.key"
cat >>"$work/ext.cnf" <<'EOF'

[server_localhost2]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
sign "$ex/localhost2.key" "/CN=localhost2" intermediate.crt intermediate.key server_localhost2 "$work/l2.crt"
cat "$work/l2.crt" intermediate.crt >"$ex/localhost2.crt"

chmod 644 "$out"/* "$ex"/*.crt "$ex"/*.key
echo "wrote $(ls "$out" | wc -l) files to tests/fixtures/certs and 5 to examples/certs" >&2
