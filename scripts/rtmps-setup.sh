#!/usr/bin/env bash
# Used by ./run.sh --rtmps: prints, one per line, the server switches that turn RTMPS ingest on, and tells the
# operator the rtmps:// URL (on stderr). Takes the server arguments run.sh was given so it adds nothing the
# operator already set: the port defaults to 1936; without a configured certificate it makes a self-signed
# one for testing, once, in ./data/tls (RSA 2048, one year, for this host's name and addresses).
# Encoders that check certificates (OBS does) need a real one: --Rtmps:CertificatePath=... --Rtmps:KeyPath=...
set -euo pipefail
port="${Rtmps__Port:-}"
certificate="${Rtmps__CertificatePath:-}"
for a in "$@"; do
  case "$a" in
    --Rtmps:Port=*) port="${a#*=}" ;;
    --Rtmps:CertificatePath=*) certificate="${a#*=}" ;;
  esac
done
if [[ -z "$port" ]]; then
  port=1936
  echo "--Rtmps:Port=$port"
fi
host=$(hostname -f 2>/dev/null || hostname)
addresses=$(hostname -I 2>/dev/null || true)
if [[ -z "$certificate" ]]; then
  dir=data/tls
  if [[ ! -s "$dir/rtmps.crt" || ! -s "$dir/rtmps.key" ]]; then
    mkdir -p "$dir"
    san="DNS:localhost,DNS:$host,IP:127.0.0.1"
    for ip in $addresses; do san="$san,IP:$ip"; done
    (umask 077 && openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 365 -subj "/CN=$host" \
      -addext "subjectAltName=$san" -addext "extendedKeyUsage=serverAuth" \
      -keyout "$dir/rtmps.key" -out "$dir/rtmps.crt" 2>/dev/null)
    echo "Made a self-signed RTMPS test certificate: $dir/rtmps.crt ($san)" >&2
  fi
  echo "--Rtmps:CertificatePath=$dir/rtmps.crt"
  echo "--Rtmps:KeyPath=$dir/rtmps.key"
  note=" (self-signed test certificate: ffmpeg accepts it; OBS needs it trusted or a real certificate)"
fi
first_ip=$(awk '{print $1}' <<<"$addresses")
echo "RTMPS ingest: rtmps://${first_ip:-localhost}:$port/live${note:-}" >&2
