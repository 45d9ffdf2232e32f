#!/usr/bin/env bash
# bench/radius/run.sh — maillon's RADIUS server against FreeRADIUS 3.2 (Debian,
# "files" backend), same machine, same load generator, same subscribers.
#
#   bench/radius/run.sh                 # 10,000 subscribers, 10 s per run
#   USERS=10000 DURATION=20s CONC=64 bench/radius/run.sh
#
# Needs the Debian packages freeradius and freeradius-utils. Everything runs
# on 127.0.0.1 and stops by itself; FreeRADIUS runs from a temporary copy of
# /etc/freeradius/3.0 with a trimmed virtual server (preprocess, chap, files,
# pap: the fastest FreeRADIUS configuration for this load) and a client that
# requires Message-Authenticator, as maillon does.
set -euo pipefail

USERS=${USERS:-10000}
DURATION=${DURATION:-10s}
CONC=${CONC:-64}
SECRET=bench-secret
MAILLON_ADDR=127.0.0.1:18200
FR_PORT=18300

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v freeradius >/dev/null || { echo "run.sh: install the freeradius package" >&2; exit 1; }

TMP=$(mktemp -d /tmp/radiusbench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf -- "$TMP"
}
trap cleanup EXIT

go build -o "$TMP/radiusbench" ./bench/radius
B=$TMP/radiusbench

# ---------------------------------------------------------------- FreeRADIUS
cp -a /etc/freeradius/3.0 "$TMP/raddb"
R=$TMP/raddb
sed -i -E '/^\s*(user|group)\s*=\s*freerad/d' "$R/radiusd.conf"
rm -f "$R"/sites-enabled/*
find "$R/mods-enabled" -mindepth 1 \! \( -name always -o -name attr_filter -o -name chap \
	-o -name files -o -name pap -o -name preprocess -o -name expr \) -delete
cat >"$R/clients.conf" <<EOF
client bench {
	ipaddr = 127.0.0.1
	secret = $SECRET
	require_message_authenticator = yes
}
EOF
cat >"$R/sites-enabled/bench" <<EOF
server bench {
	listen {
		type = auth
		ipaddr = 127.0.0.1
		port = $FR_PORT
	}
	authorize {
		preprocess
		chap
		files
		pap
	}
	authenticate {
		Auth-Type PAP {
			pap
		}
		Auth-Type CHAP {
			chap
		}
	}
	post-auth {
	}
}
EOF
"$B" users -users "$USERS" >"$R/mods-config/files/authorize"

# ---------------------------------------------------------------- runs
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $USERS subscribers, CHAP + Message-Authenticator, $CONC in flight, $DURATION per run"

"$B" serve -addr "$MAILLON_ADDR" -users "$USERS" -secret "$SECRET" 2>"$TMP/maillon.log" &
PIDS+=($!)
freeradius -f -d "$R" -l "$TMP/freeradius.log" &
PIDS+=($!)
sleep 3
for target in "$MAILLON_ADDR" "127.0.0.1:$FR_PORT"; do
	"$B" load -addr "$target" -users "$USERS" -secret "$SECRET" -duration 1s -concurrency 4 -label warmup >/dev/null
done

run() { "$B" load -users "$USERS" -secret "$SECRET" -duration "$DURATION" "$@"; }
m=$(run -addr "$MAILLON_ADDR" -concurrency "$CONC" -label "maillon     peak")
echo "$m"
f=$(run -addr "127.0.0.1:$FR_PORT" -concurrency "$CONC" -label "freeradius  peak")
echo "$f"
mp=$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$m")
fp=$(sed -E 's/.*throughput=([0-9]+).*/\1/' <<<"$f")
awk -v m="$mp" -v f="$fp" 'BEGIN { printf "ratio maillon/freeradius (files): %.2f\n", m / f }'
half=$((mp / 2))
run -addr "$MAILLON_ADDR" -concurrency 256 -rate "$half" -label "maillon     at $half/s (half of its peak)"
if ((half <= fp)); then
	run -addr "127.0.0.1:$FR_PORT" -concurrency 256 -rate "$half" -label "freeradius  at $half/s"
fi
