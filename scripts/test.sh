#!/usr/bin/env bash
# scripts/test.sh — the project's one test command (CI runs it through .ci/run).
#
#   scripts/test.sh                            # everything: packages, lint, all tests
#   scripts/test.sh -run Foo ./internal/store/ # extra args go to `go test`
#   MAILLON_TEST_SKIP_LINT=1 scripts/test.sh -run Foo ./internal/store/
#
# Steps:
#   1. install the Debian packages of scripts/test-packages.txt that are
#      missing (apt-get only when one is missing);
#   2. start a throw-away PostgreSQL cluster (temp dir, 127.0.0.1 on a free
#      port + unix socket in the temp dir, trust auth) and export
#      MAILLON_TEST_POSTGRES_URL; it is stopped and removed on exit, and a
#      detached watchdog removes it even if this script is SIGKILLed;
#   3. gofmt -l, go vet ./..., staticcheck ./... (pinned below);
#   4. go test -count=1 -timeout=15m [args] (./... unless args name packages).
#
# Environment given to the tests:
#   MAILLON_REQUIRE_PEERS=1    tests fail, never skip, when a peer program
#                              (radclient, kdig, sshd, ...) or PostgreSQL is
#                              missing (see internal/testenv)
#   MAILLON_TEST_POSTGRES_URL  postgres://postgres@127.0.0.1:PORT/maillon_test?sslmode=disable
#                              (superuser, trust auth; testenv.FreshPostgresDB
#                              makes a database per test from it)
#   MAILLON_TEST_PG_BINDIR     /usr/lib/postgresql/N/bin, for tests that run
#                              their own initdb/pg_ctl (replicas, ...)
# Knobs: MAILLON_TEST_POSTGRES_URL set beforehand = use that server, start
# none; MAILLON_TEST_SKIP_LINT=1 = skip gofmt/vet/staticcheck (never in CI);
# MAILLON_GO_TEST_TIMEOUT (default 15m).
#
# Add a Debian package the tests need: one line in scripts/test-packages.txt.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2 # staticcheck 2026.2.2, needs Go >= 1.26
GO_TEST_TIMEOUT=${MAILLON_GO_TEST_TIMEOUT:-15m}

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
export MAILLON_REQUIRE_PEERS=${MAILLON_REQUIRE_PEERS:-1}
# A bare environment (cron, CI, env -i) may lack the sbin directories
# (runuser, setsid) or Go's, which is at /usr/local/go/bin on the project's
# machines.
for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin /usr/local/go/bin; do
	if [[ -d $d && ":${PATH:-}:" != *":$d:"* ]]; then PATH=${PATH:+$PATH:}$d; fi
done
export PATH

# ---------------------------------------------------------------- reporting

SCRIPT_T0=$(date +%s%N)
STEP_NAME=""
STEP_T0=0
TIMINGS=()

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
fmt_ms() { printf '%d.%03ds' $(($1 / 1000)) $(($1 % 1000)); }

step() {
	step_done
	STEP_NAME=$1
	STEP_T0=$(date +%s%N)
	printf '\n==> %s\n' "$STEP_NAME"
}

step_done() {
	if [[ -n $STEP_NAME ]]; then
		local ms
		ms=$(ms_since "$STEP_T0")
		TIMINGS+=("$(printf '  %-44s %10s' "$STEP_NAME" "$(fmt_ms "$ms")")")
		printf -- '<== %s: %s\n' "$STEP_NAME" "$(fmt_ms "$ms")"
		STEP_NAME=""
	fi
}

die() {
	printf 'scripts/test.sh: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- cleanup

PG_TMP=""     # temp dir of the throw-away cluster, owned by postgres
PG_BINDIR=""  # /usr/lib/postgresql/N/bin
CHILD_PID=""  # long-running child (go test, ...), leader of its own process group

is_root() { [[ $(id -u) -eq 0 ]]; }

# as_pg runs a command as the postgres user when we are root (postgres refuses
# to run as root), as ourselves otherwise.
as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# stop_pg stops the cluster in $1 (bin dir $2) and removes its directory.
stop_pg() {
	local dir=$1 bindir=$2
	if [[ -f $dir/data/postmaster.pid ]]; then
		as_pg "$bindir/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >/dev/null 2>&1 || true
	fi
	rm -rf -- "$dir"
}

# reap undoes what the run recorded in its run dir $1: it stops the child's
# process group (child.pid) and the PostgreSQL cluster (pg: "dir bindir"),
# then removes the run dir. on_exit calls it, and so does the watchdog when
# this script died without running on_exit (SIGKILL).
reap() {
	local run=$1 c dir bindir i
	if [[ -f $run/child.pid ]]; then
		c=$(<"$run/child.pid")
		kill -TERM -- "-$c" 2>/dev/null || true
		for i in $(seq 1 50); do
			kill -0 -- "-$c" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$c" 2>/dev/null || true
		rm -f -- "$run/child.pid"
	fi
	if [[ -f $run/pg ]]; then
		read -r dir bindir <"$run/pg"
		stop_pg "$dir" "$bindir"
	fi
	rm -rf -- "$run"
}

RUN_DIR=$(mktemp -d /tmp/maillon-test.XXXXXX)
# The watchdog runs in its own session, so that a kill of our process group
# does not reach it; once this script is gone it reaps the run dir. on_exit
# kills it first on any ordinary exit.
setsid bash -c "$(declare -f as_pg stop_pg reap)"'
	while kill -0 "$1" 2>/dev/null; do sleep 1; done
	reap "$2"' maillon-test-watchdog "$$" "$RUN_DIR" </dev/null >/dev/null 2>&1 &
WATCHDOG_PID=$!

on_exit() {
	local rc=$?
	trap - EXIT INT TERM HUP
	kill "$WATCHDOG_PID" 2>/dev/null || true
	if [[ -n $STEP_NAME && $rc -ne 0 ]]; then
		printf '\nFAILED in step "%s" (exit %d)\n' "$STEP_NAME" "$rc" >&2
	fi
	step_done
	if [[ -n $PG_TMP ]]; then
		printf '\n==> stopping PostgreSQL (%s)\n' "$PG_TMP"
	fi
	reap "$RUN_DIR"
	if [[ -n $CHILD_PID ]]; then wait "$CHILD_PID" 2>/dev/null || true; fi
	printf '\nstep timings:\n'
	printf '%s\n' "${TIMINGS[@]}"
	printf '  %-44s %10s\n' "total" "$(fmt_ms "$(ms_since "$SCRIPT_T0")")"
	if [[ $rc -eq 0 ]]; then echo "scripts/test.sh: OK"; else echo "scripts/test.sh: FAILED (exit $rc)" >&2; fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# run_child runs a long command in its own session and process group and
# waits for it, so that a signal to this script is handled at once and the
# whole group (go test and its test binaries) is stopped by reap. SIGINT and
# SIGQUIT, which bash ignores in background commands, are given back their
# default action, so that tests can stop their peers with SIGINT.
run_child() {
	setsid env --default-signal=INT,QUIT "$@" &
	CHILD_PID=$!
	echo "$CHILD_PID" >"$RUN_DIR/child.pid"
	local rc=0
	wait "$CHILD_PID" || rc=$?
	rm -f -- "$RUN_DIR/child.pid"
	CHILD_PID=""
	return "$rc"
}

# ---------------------------------------------------------------- 1. packages

step "Debian packages (scripts/test-packages.txt)"
mapfile -t PACKAGES < <(awk '{ sub(/#.*/, ""); for (i = 1; i <= NF; i++) print $i }' scripts/test-packages.txt)
MISSING=()
for p in "${PACKAGES[@]}"; do
	# "package:command": the command from elsewhere will do (Node.js and npm
	# from NodeSource, whose nodejs conflicts with Debian's npm package).
	if [[ $p == *:* ]]; then
		if command -v "${p#*:}" >/dev/null; then continue; fi
		p=${p%%:*}
	fi
	if [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) != "ii "* ]]; then
		MISSING+=("$p")
	fi
done
if [[ ${#MISSING[@]} -eq 0 ]]; then
	echo "all ${#PACKAGES[@]} packages installed"
else
	echo "missing: ${MISSING[*]}"
	SUDO=()
	if ! is_root; then
		command -v sudo >/dev/null || die "not root and no sudo: install ${MISSING[*]}"
		SUDO=(sudo -E)
	fi
	APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	"${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -q
	"${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y -q --no-install-recommends "${MISSING[@]}"
	for p in "${MISSING[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == "ii "* ]] ||
			die "package $p is still not installed after apt-get install (virtual package? list a real one)"
	done
fi
command -v go >/dev/null || die "the go command is not on PATH (expected /usr/local/go/bin/go)"
go version

# ---------------------------------------------------------------- 2. PostgreSQL

step "PostgreSQL throw-away cluster"
if [[ -n ${MAILLON_TEST_POSTGRES_URL:-} ]]; then
	echo "using MAILLON_TEST_POSTGRES_URL from the environment; no cluster started"
else
	shopt -s nullglob
	for d in /usr/lib/postgresql/*/bin; do
		if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
			# keep the highest major version
			if [[ -z $PG_BINDIR ]] || [[ $(printf '%s\n%s\n' "$PG_BINDIR" "$d" | sort -V | tail -n1) == "$d" ]]; then
				PG_BINDIR=$d
			fi
		fi
	done
	shopt -u nullglob
	[[ -n $PG_BINDIR ]] || die "no PostgreSQL server (initdb, pg_ctl, postgres) under /usr/lib/postgresql/*/bin: is the postgresql package installed?"
	PSQL=$PG_BINDIR/psql
	[[ -x $PSQL ]] || PSQL=$(command -v psql) || die "psql not found (package postgresql-client)"
	if is_root; then
		id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package creates it)"
	fi

	# /tmp, not $TMPDIR: the postgres user must be able to reach it, and the
	# unix socket path must stay short.
	PG_TMP=$(mktemp -d /tmp/maillon-pg.XXXXXX)
	if is_root; then chown postgres:postgres "$PG_TMP"; fi
	chmod 700 "$PG_TMP"

	echo "$PG_TMP $PG_BINDIR" >"$RUN_DIR/pg"

	echo "initdb ($PG_BINDIR) in $PG_TMP/data"
	if ! as_pg "$PG_BINDIR/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
		--encoding=UTF8 --locale=C.UTF-8 --no-sync >"$PG_TMP/initdb.log" 2>&1; then
		cat "$PG_TMP/initdb.log" >&2
		die "initdb failed"
	fi
	cat >>"$PG_TMP/data/postgresql.conf" <<EOF

# scripts/test.sh: throw-away test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 1GB
log_min_messages = warning
log_min_error_statement = panic
EOF

	PG_PORT=""
	for attempt in $(seq 1 20); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if as_pg "$PG_BINDIR/pg_ctl" start -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" \
			-o "-p $port" -w -t 60 >/dev/null 2>&1; then
			PG_PORT=$port
			break
		fi
		if grep -qiE 'could not (bind|create listen)|address already in use|lock file .* already exists' "$PG_TMP/postgres.log" 2>/dev/null; then
			echo "port $port busy, trying another (attempt $attempt)"
			: >"$PG_TMP/postgres.log"
			continue
		fi
		cat "$PG_TMP/postgres.log" >&2 || true
		die "PostgreSQL failed to start"
	done
	[[ -n $PG_PORT ]] || die "PostgreSQL: no free port found after 20 attempts"

	"$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
		-c 'CREATE DATABASE maillon_test' >/dev/null
	export MAILLON_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/maillon_test?sslmode=disable"
	export MAILLON_TEST_PG_BINDIR=$PG_BINDIR
	echo "PostgreSQL $("$PG_BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT and $PG_TMP"
	echo "MAILLON_TEST_POSTGRES_URL=$MAILLON_TEST_POSTGRES_URL"
fi

# ---------------------------------------------------------------- 3. lint

if [[ -n ${MAILLON_TEST_SKIP_LINT:-} && -n ${CI:-} ]]; then
	echo "MAILLON_TEST_SKIP_LINT ignored: CI is set"
fi
if [[ -n ${MAILLON_TEST_SKIP_LINT:-} && -z ${CI:-} ]]; then
	step "lint skipped (MAILLON_TEST_SKIP_LINT is set)"
else
	step "gofmt -l"
	unformatted=$(find . \( -name .git -o -name node_modules -o -name testdata \) -prune -o \
		-name '*.go' -type f -print0 | xargs -0 -r gofmt -l)
	if [[ -n $unformatted ]]; then
		printf '%s\n' "$unformatted"
		die "these files need gofmt -w"
	fi
	echo "all files formatted"

	step "go vet ./..."
	run_child go vet ./...
	echo "go vet: no findings"

	step "staticcheck $STATICCHECK_VERSION ./..."
	run_child go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
	echo "staticcheck: no findings"
fi

# ---------------------------------------------------------------- 4. tests

# Run ./... unless the arguments already name packages.
TEST_ARGS=("$@")
have_pkg=""
for a in "$@"; do
	case $a in
	./* | ../* | maillon | maillon/*) have_pkg=1 ;;
	esac
done
if [[ -z $have_pkg ]]; then TEST_ARGS+=(./...); fi

step "go test ${TEST_ARGS[*]}"
run_child go test -count=1 -timeout="$GO_TEST_TIMEOUT" "${TEST_ARGS[@]}"
