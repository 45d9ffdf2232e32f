#!/usr/bin/env bash
# bench/radius/run.sh — maillon's RADIUS against FreeRADIUS 3.2 (Debian), same
# machine, same load generator (bench/radius), same subscribers.
#
#   bench/radius/run.sh                  # every part below, in this order
#   bench/radius/run.sh auth storm       # some parts only
#   PIN=1 bench/radius/run.sh latency    # server on CPU 0, load generator on CPU 1
#   PROFILE=1 bench/radius/run.sh acct   # + a CPU profile of the daemon (pprof -top)
#
# Parts:
#   auth     Access-Request throughput (CHAP + Message-Authenticator, USERS
#            subscribers): the maillon daemon, FreeRADIUS with `files`, and
#            FreeRADIUS with rlm_sql on PostgreSQL; ratios; then each at half
#            of maillon's peak rate (latency).
#   latency  maillon alone: its peak, then p99 at half of it (LAT_RATE=n to
#            give the rate). Run it on a quiet machine (see `uptime`).
#            With PIN=1 it also measures, before and after, how long each
#            CPU is taken away from a thread keeping it busy (radiusbench
#            stalls): the machine's noise, which makes the tail.
#   acct     durable accounting on SQLite through the daemon: a Start for each
#            of LINES sessions, then Interim-Updates for DURATION.
#   storm    the midnight reconnect storm: LINES subscribers each send Stop,
#            Access-Request, Start, all at once.
#
# "The maillon daemon" is internal/app with its SQLite store and registry,
# started by `radiusbench daemon` on a fresh database of USERS (auth,
# latency) or LINES (acct, storm) members with a ppp line each.
#
# Knobs: USERS=10000 LINES=20000 DURATION=10s CONC=64 (auth in flight)
# ACCT_CONC=2048 (accounting in flight) PIN=0 PROFILE=0 LAT_RATE=.
#
# Needs the Debian packages freeradius, freeradius-postgresql and postgresql
# (installed with apt-get when missing and run as root). Everything listens on
# 127.0.0.1 (PostgreSQL on a unix socket in a temporary directory) and is
# stopped on exit, even if this script is killed (a watchdog reaps it).
set -euo pipefail

USERS=${USERS:-10000}
LINES=${LINES:-20000}
DURATION=${DURATION:-10s}
CONC=${CONC:-64}
ACCT_CONC=${ACCT_CONC:-2048}
PIN=${PIN:-0}
PROFILE=${PROFILE:-0}
LAT_RATE=${LAT_RATE:-}
SECRET=bench-secret
FR_FILES_PORT=18300
FR_SQL_PORT=18301

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PARTS=("$@")
((${#PARTS[@]})) || PARTS=(auth acct storm)
for p in "${PARTS[@]}"; do
	case $p in auth | latency | acct | storm) ;; *)
		echo "run.sh: unknown part $p (auth, latency, acct, storm)" >&2
		exit 2
		;;
	esac
done
want() { [[ " ${PARTS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- packages
PKGS=()
if want auth; then
	command -v freeradius >/dev/null || PKGS+=(freeradius)
	[[ -e /usr/lib/freeradius/rlm_sql_postgresql.so ]] || PKGS+=(freeradius-postgresql)
	compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || PKGS+=(postgresql)
fi
if ((${#PKGS[@]})); then
	[[ $(id -u) -eq 0 ]] || { echo "run.sh: install ${PKGS[*]} (or run as root)" >&2; exit 1; }
	echo "# apt-get install ${PKGS[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${PKGS[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${PKGS[@]}" >/dev/null; }
	# The Debian packages start their own services; this benchmark runs
	# its own instances only.
	systemctl disable --now freeradius >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/radiusbench.XXXXXX)
chmod 755 "$TMP"
# reap stops what $1 records: pids (one a line) and the PostgreSQL cluster
# (pg.rec: "datadir bindir"), then removes it. The EXIT trap runs it, and so
# does a watchdog if this script is killed without running its trap.
reap() {
	local run=$1 p dir bindir
	if [[ -f $run/pids ]]; then
		while read -r p; do kill "$p" 2>/dev/null || true; done <"$run/pids"
		sleep 0.5
		while read -r p; do kill -9 "$p" 2>/dev/null || true; done <"$run/pids"
	fi
	if [[ -f $run/pg.rec ]]; then
		read -r dir bindir <"$run/pg.rec"
		runuser -u postgres -- "$bindir/pg_ctl" stop -D "$dir" -m immediate -w -t 30 >/dev/null 2>&1 || true
	fi
	rm -rf -- "$run"
}
setsid bash -c "$(declare -f reap)"'
	while kill -0 "$1" 2>/dev/null; do sleep 1; done
	reap "$2"' radiusbench-watchdog "$$" "$TMP" </dev/null >/dev/null 2>&1 &
WATCHDOG=$!
cleanup() {
	kill "$WATCHDOG" 2>/dev/null || true
	reap "$TMP"
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o "$TMP/radiusbench" ./bench/radius
B=$TMP/radiusbench
SERVER_CPU=() LOAD_CPU=()
if [[ $PIN == 1 ]]; then SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1); fi
gen() { "${LOAD_CPU[@]}" "$B" "$@"; }
track() { echo "$1" >>"$TMP/pids"; }
untrack() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	sed -i "/^$1\$/d" "$TMP/pids"
}
header() {
	echo
	echo "# $1"
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -r); load average: $(cut -d' ' -f1-3 /proc/loadavg)$([[ $PIN == 1 ]] && echo "; daemon pinned to CPU 0, load generator to CPU 1")"
}
throughput() { sed -nE 's/.*throughput=([0-9]+).*/\1/p' <<<"$1" | head -1; }

# start_daemon N: the maillon daemon on a fresh database of N lines; sets
# M_AUTH, M_ACCT, M_HTTP, M_PID.
start_daemon() {
	local dir=$TMP/daemon-$RANDOM
	mkdir "$dir"
	local pp=()
	if [[ $PROFILE == 1 ]]; then pp=(-pprof 127.0.0.1:18399); fi
	"${SERVER_CPU[@]}" "$B" daemon -dir "$dir" -users "$1" -secret "$SECRET" -ready "$dir/ready" "${pp[@]}" 2>"$dir/log" &
	M_PID=$!
	track "$M_PID"
	for _ in $(seq 600); do
		[[ -f $dir/ready ]] && break
		kill -0 "$M_PID" 2>/dev/null || { cat "$dir/log" >&2; exit 1; }
		sleep 0.2
	done
	read -r M_AUTH M_ACCT M_HTTP <"$dir/ready"
	M_DIR=$dir
	grep -h radiusbench: "$dir/log" | sed 's/^/# /'
}
stop_daemon() {
	untrack "$M_PID"
	grep -h 'store:' "$M_DIR/log" | sed 's/^/# /' || true
	rm -rf -- "$M_DIR"
}

# ---------------------------------------------------------------- FreeRADIUS
# raddb DIR PORT MODULE: a trimmed copy of /etc/freeradius/3.0 whose only
# virtual server answers on PORT with preprocess, chap, MODULE, pap.
raddb() {
	local R=$1 port=$2 module=$3
	cp -a /etc/freeradius/3.0 "$R"
	sed -i -E '/^\s*(user|group)\s*=\s*freerad/d' "$R/radiusd.conf"
	# FreeRADIUS keeps each request for cleanup_delay (5 s) and drops new
	# ones beyond max_requests (16,384): at 20,000/s it would drop some
	# ("Dropping request (16385 is too many)") and each costs the load
	# generator a 1 s timeout. Room for this load.
	sed -i -E 's/^max_requests = .*/max_requests = 1048576/' "$R/radiusd.conf"
	rm -f "$R"/sites-enabled/*
	find "$R/mods-enabled" -mindepth 1 \! \( -name always -o -name attr_filter -o -name chap \
		-o -name files -o -name pap -o -name preprocess -o -name expr \) -delete
	cat >"$R/clients.conf" <<-EOF
		client bench {
			ipaddr = 127.0.0.1
			secret = $SECRET
			require_message_authenticator = yes
		}
	EOF
	cat >"$R/sites-enabled/bench" <<-EOF
		server bench {
			listen {
				type = auth
				ipaddr = 127.0.0.1
				port = $port
			}
			authorize {
				preprocess
				chap
				$module
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
}

start_freeradius() { # raddb-dir; sets FR_PID
	"${SERVER_CPU[@]}" freeradius -f -d "$1" -l "$1/freeradius.log" &
	FR_PID=$!
	track "$FR_PID"
}

# start_postgres: a throw-away cluster as scripts/test.sh makes them,
# reachable on a unix socket only; sets PG_DIR, PG_BIN.
start_postgres() {
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	PG_DIR=$TMP/pg
	mkdir "$PG_DIR"
	chown postgres:postgres "$PG_DIR"
	chmod 700 "$PG_DIR"
	runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$TMP/initdb.log" 2>&1 ||
		{ cat "$TMP/initdb.log" >&2; exit 1; }
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$PG_DIR'
		max_connections = 100
		fsync = off
		synchronous_commit = off
		log_min_messages = warning
	EOF
	echo "$PG_DIR/data $PG_BIN" >"$TMP/pg.rec"
	runuser -u postgres -- "$PG_BIN/pg_ctl" start -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 >/dev/null
	chmod 755 "$PG_DIR" # FreeRADIUS (root) and psql reach the socket
}
psql_radius() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres "$@"; }

# ---------------------------------------------------------------- auth
part_auth() {
	header "Access-Request throughput: maillon daemon vs FreeRADIUS files vs FreeRADIUS rlm_sql (PostgreSQL)"
	start_daemon "$USERS"

	raddb "$TMP/raddb-files" "$FR_FILES_PORT" files
	"$B" users -users "$USERS" >"$TMP/raddb-files/mods-config/files/authorize"
	start_freeradius "$TMP/raddb-files"
	local fr_files=$FR_PID

	start_postgres
	psql_radius -c "CREATE DATABASE radius" postgres
	psql_radius radius </etc/freeradius/3.0/mods-config/sql/main/postgresql/schema.sql
	"$B" sqlusers -users "$USERS" | psql_radius radius
	raddb "$TMP/raddb-sql" "$FR_SQL_PORT" sql
	# The module as mods-available/sql has it, pointed at the cluster; no
	# group or profile lookups (one query fewer per request: FreeRADIUS's
	# fastest SQL configuration for this load), no clients from SQL.
	cat >"$TMP/raddb-sql/mods-enabled/sql" <<-EOF
		sql {
			dialect = "postgresql"
			driver = "rlm_sql_postgresql"
			postgresql {
				send_application_name = yes
			}
			server = "$PG_DIR"
			port = 5432
			login = "postgres"
			password = ""
			radius_db = "radius"
			acct_table1 = "radacct"
			acct_table2 = "radacct"
			postauth_table = "radpostauth"
			authcheck_table = "radcheck"
			groupcheck_table = "radgroupcheck"
			authreply_table = "radreply"
			groupreply_table = "radgroupreply"
			usergroup_table = "radusergroup"
			read_groups = no
			read_profiles = no
			delete_stale_sessions = yes
			pool {
				start = \${thread[pool].start_servers}
				min = \${thread[pool].min_spare_servers}
				max = \${thread[pool].max_servers}
				spare = \${thread[pool].max_spare_servers}
				uses = 0
				retry_delay = 30
				lifetime = 0
				idle_timeout = 60
			}
			read_clients = no
			client_table = "nas"
			group_attribute = "SQL-Group"
			\$INCLUDE \${modconfdir}/\${.:name}/main/\${dialect}/queries.conf
		}
	EOF
	start_freeradius "$TMP/raddb-sql"
	local fr_sql=$FR_PID
	sleep 3
	for target in "$M_AUTH" "127.0.0.1:$FR_FILES_PORT" "127.0.0.1:$FR_SQL_PORT"; do
		w=$(gen load -addr "$target" -users "$USERS" -secret "$SECRET" -duration 1s -concurrency 4 -label warmup)
		[[ $(sed -nE 's/.*accepted=([0-9]+).*/\1/p' <<<"$w") -gt 0 ]] || { echo "run.sh: $target accepts nobody: $w" >&2; cat "$TMP"/raddb-*/freeradius.log >&2; exit 1; }
	done
	echo "# $USERS subscribers, CHAP + Message-Authenticator, $CONC in flight, $DURATION per run"
	run() { gen load -users "$USERS" -secret "$SECRET" -duration "$DURATION" "$@"; }
	local m f s mp fp sp half
	m=$(run -addr "$M_AUTH" -metrics "http://$M_HTTP/metrics" -concurrency "$CONC" -label "maillon          peak")
	echo "$m"
	f=$(run -addr "127.0.0.1:$FR_FILES_PORT" -concurrency "$CONC" -label "freeradius files peak")
	echo "$f"
	s=$(run -addr "127.0.0.1:$FR_SQL_PORT" -concurrency "$CONC" -label "freeradius sql   peak")
	echo "$s"
	mp=$(throughput "$m") fp=$(throughput "$f") sp=$(throughput "$s")
	awk -v m="$mp" -v f="$fp" -v s="$sp" 'BEGIN {
		printf "ratio maillon/freeradius files: %.2f (target >= 1.5)\n", m / f
		printf "ratio maillon/freeradius sql:   %.2f (target >= 10)\n", m / s }'
	half=$((mp / 2))
	run -addr "$M_AUTH" -metrics "http://$M_HTTP/metrics" -rate "$half" -label "maillon          at $half/s (half of its peak)"
	if ((half <= fp)); then
		run -addr "127.0.0.1:$FR_FILES_PORT" -rate "$half" -label "freeradius files at $half/s"
	fi
	if ((half <= sp)); then
		run -addr "127.0.0.1:$FR_SQL_PORT" -rate "$half" -label "freeradius sql   at $half/s"
	fi
	untrack "$fr_files"
	untrack "$fr_sql"
	runuser -u postgres -- "$PG_BIN/pg_ctl" stop -D "$PG_DIR/data" -m fast -w >/dev/null
	rm -f "$TMP/pg.rec"
	stop_daemon
}

# ---------------------------------------------------------------- latency
# stalls: with PIN=1, how long each CPU is taken away from a thread that
# keeps it busy (both at once, as during a run): the machine's noise.
stalls() {
	[[ $PIN == 1 ]] || return 0
	{
		taskset -c 0 "$B" stalls -duration "$DURATION" -label "# CPU 0 (daemon's)" &
		taskset -c 1 "$B" stalls -duration "$DURATION" -label "# CPU 1 (generator's)"
		wait
	} | sort
}
part_latency() {
	header "maillon daemon: p99 at half of its peak (target < 2 ms)"
	start_daemon "$USERS"
	sleep 1
	gen load -addr "$M_AUTH" -users "$USERS" -secret "$SECRET" -duration 1s -concurrency 4 -label warmup >/dev/null
	local rate=$LAT_RATE m
	if [[ -z $rate ]]; then
		m=$(gen load -addr "$M_AUTH" -metrics "http://$M_HTTP/metrics" -users "$USERS" -secret "$SECRET" -duration "$DURATION" -concurrency "$CONC" -label "maillon peak")
		echo "$m"
		rate=$(($(throughput "$m") / 2))
	fi
	# A first run at that rate is not counted: it ends the warm-up (the reply
	# cache fills over the 30 s retransmission window and the heap reaches
	# its steady size, with a collection or two on the way).
	gen load -addr "$M_AUTH" -users "$USERS" -secret "$SECRET" -duration "$DURATION" -rate "$rate" -label "warm-up at $rate/s" >/dev/null
	echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	stalls
	for _ in 1 2 3; do
		gen load -addr "$M_AUTH" -metrics "http://$M_HTTP/metrics" -users "$USERS" -secret "$SECRET" -duration "$DURATION" -rate "$rate" -label "maillon at $rate/s"
	done
	echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	stalls
	stop_daemon
}

# ---------------------------------------------------------------- acct
part_acct() {
	header "durable accounting on SQLite through the daemon ($LINES sessions, target 20,000 Interim-Updates/s)"
	start_daemon "$LINES"
	local prof=""
	if [[ $PROFILE == 1 ]]; then
		prof=$TMP/acct.pprof
		# Inside the Interim phase (after the Starts, ~2 s) when DURATION >= 10s.
		(sleep 4 && curl -sf -o "$prof" "http://127.0.0.1:18399/debug/pprof/profile?seconds=6") &
		local curl=$!
	fi
	gen acct -addr "$M_ACCT" -secret "$SECRET" -sessions "$LINES" -users "$LINES" -concurrency "$ACCT_CONC" \
		-duration "$DURATION" -metrics "http://$M_HTTP/metrics"
	if [[ -n $prof ]]; then
		wait "$curl" || true
		go tool pprof -top -cum -nodecount=40 "$B" "$prof" 2>/dev/null | sed -n '4,50p' | sed 's/^/#   /'
	fi
	stop_daemon
}

# ---------------------------------------------------------------- storm
part_storm() {
	header "midnight reconnect storm: $LINES subscribers, Stop + Access-Request + Start each, all at once"
	start_daemon "$LINES"
	gen storm -auth "$M_AUTH" -acct "$M_ACCT" -secret "$SECRET" -users "$LINES" -metrics "http://$M_HTTP/metrics"
	echo "# daemon memory: $(grep -E 'VmHWM' /proc/"$M_PID"/status | tr -s ' \t' ' ')"
	stop_daemon
}

for p in "${PARTS[@]}"; do "part_$p"; done
