#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for integration tests.
#
#   broker.sh fetch        download the broker jars from Maven Central (cached)
#   broker.sh start DIR    start a broker on free 127.0.0.1 ports; state lives in DIR;
#                          prints the bootstrap address (also in DIR/bootstrap) as the
#                          only stdout line, progress goes to stderr
#   broker.sh stop DIR     stop it (idempotent)
#   broker.sh crash DIR    kill it with SIGKILL, as a crash would (fault tests)
#   broker.sh restart DIR  start a stopped or crashed broker again on its ports and data
#
# Needs java >= 17 and mvn. Jars are fetched with mvn because this project's
# machines reach package registries only, not the Kafka tarball mirrors.
# Env: LIVEFLOW_CACHE (default ~/.cache/liveflow), KAFKA_START_TIMEOUT (default 90 s),
#      KAFKA_OPTS (extra broker JVM flags), JAVA_HOME.
set -euo pipefail

KAFKA_VERSION=4.4.0
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KAFKA_HOME=${LIVEFLOW_CACHE:-$HOME/.cache/liveflow}/kafka-$KAFKA_VERSION
LIBS=$KAFKA_HOME/libs
START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
# Fixed cluster id: every start formats a fresh DIR/data, so uniqueness buys
# nothing, and it saves a JVM start for `StorageTool random-uuid`.
CLUSTER_ID=bGl2ZWZsb3ctdGVzdDAwMA

log() { echo "kafka: $*" >&2; }
die() { echo "kafka: ERROR: $*" >&2; exit 1; }

need_java() {
  command -v "$JAVA" >/dev/null || die "java not found (need Java 17+; install e.g. openjdk-17-jre-headless)"
  local v
  v=$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [[ ${v:-0} -ge 17 ]] || die "Kafka $KAFKA_VERSION needs Java 17+, but '$JAVA' is version ${v:-unknown}"
}

fetch() {
  # The marker holds the pom's hash, so an interrupted download or an edited
  # pom (new versions) triggers a fresh download instead of a broken broker.
  local want; want=$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)
  [[ -f $KAFKA_HOME/.complete && $(cat "$KAFKA_HOME/.complete") == "$want" ]] && return 0
  mkdir -p "$KAFKA_HOME"
  # Parallel test runs on a cold cache must not download into the same dir.
  exec 9>"$KAFKA_HOME/.lock"; flock 9
  [[ -f $KAFKA_HOME/.complete && $(cat "$KAFKA_HOME/.complete") == "$want" ]] && { exec 9>&-; return 0; }
  command -v mvn >/dev/null || die "mvn not found: it is needed to fetch Kafka jars (apt-get install -y maven)"
  log "installing Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS" "$LIBS.tmp" "$KAFKA_HOME/.complete"
  # mvn's output goes to a file, shown only on failure: Debian's mvn 3.8.7 prints
  # stray ANSI codes even with -B -q, and `start` keeps stdout for the address.
  mvn -B -q -f "$HERE/pom.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$KAFKA_HOME/mvn.log" 2>&1 \
    || { tail -n 30 "$KAFKA_HOME/mvn.log" >&2
         die "downloading Kafka $KAFKA_VERSION jars with mvn failed (Maven Central unreachable? mvn output above, full log $KAFKA_HOME/mvn.log)"; }
  [[ -f $LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar ]] || die "mvn finished but kafka_2.13-$KAFKA_VERSION.jar is missing in $LIBS.tmp"
  mv "$LIBS.tmp" "$LIBS"
  echo "$want" >"$KAFKA_HOME/.complete"
  exec 9>&-
  local jars=("$LIBS"/*.jar); log "installed ${#jars[@]} jars"
}

free_ports() { # prints two distinct free ports on 127.0.0.1
  command -v python3 >/dev/null || die "python3 not found (used to pick free TCP ports)"
  # Bind both to port 0 at once so the kernel hands out two different unused ports.
  python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}

# A broker is running if /proc shows its kafka.Kafka command line. Not `kill -0`:
# it also succeeds for a recycled pid and for an exited but unreaped (zombie)
# broker, e.g. where pid 1 does not reap orphans; a zombie's cmdline is empty.
alive() { [[ -n $1 ]] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q 'kafka\.Kafka '; }
running_pid() { # prints the broker pid of DIR if it is alive
  local pid; pid=$(cat "$1/broker.pid" 2>/dev/null) && alive "$pid" && echo "$pid"
}

start() {
  local dir; mkdir -p "$1"; dir=$(cd "$1" && pwd)
  running_pid "$dir" >/dev/null && die "a broker is already running for $dir (pid $(cat "$dir/broker.pid")); stop it first"
  need_java; fetch
  local port cport; read -r port cport < <(free_ports) || true
  [[ -n ${cport:-} ]] || die "could not find two free TCP ports on 127.0.0.1"
  local addr=127.0.0.1:$port
  rm -rf "$dir/data" "$dir/broker.pid" "$dir/bootstrap"  # always a fresh cluster
  cat >"$dir/server.properties" <<EOF
# Written by scripts/kafka/broker.sh: throwaway single-node test broker.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://$addr,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://$addr
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
# Dynamic single-voter quorum (formatted with --standalone, not controller.quorum.voters).
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
# One node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Creating the default 50 __consumer_offsets partitions slows the first group join.
offsets.topic.num.partitions=1
# Consumer groups start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
EOF
  # log4j2.shutdownHookEnabled=false: otherwise log4j2's own shutdown hook races
  # Kafka's and the log stops in the middle of the broker's shutdown.
  local jvm=(-Xmx512m -Djava.awt.headless=true -Dlog4j2.configurationFile="$HERE/log4j2.properties"
             -Dlog4j2.shutdownHookEnabled=false -cp "$LIBS/*")
  # Extra JVM flags for the broker, like Kafka's own scripts: KAFKA_OPTS (word-split).
  local -a extra; read -r -a extra <<<"${KAFKA_OPTS:-}"
  # TieredStopAtLevel=1 (C1 JIT only): the format tool runs for a second, C2 is wasted on it.
  "$JAVA" "${jvm[@]}" -XX:TieredStopAtLevel=1 kafka.tools.StorageTool format --standalone -t "$CLUSTER_ID" \
      -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
    || { tail -n 30 "$dir/format.log" >&2; die "formatting $dir/data failed (output above, full log $dir/format.log)"; }
  : >"$dir/broker.log"
  run_broker "$dir" "$addr" "$port"
}

# run_broker DIR ADDR PORT launches the broker of DIR/server.properties and
# waits until it serves on ADDR.
run_broker() {
  local dir=$1 addr=$2 port=$3
  local jvm=(-Xmx512m -Djava.awt.headless=true -Dlog4j2.configurationFile="$HERE/log4j2.properties"
             -Dlog4j2.shutdownHookEnabled=false -cp "$LIBS/*")
  local -a extra; read -r -a extra <<<"${KAFKA_OPTS:-}"
  # A restart appends to the log: ready means one more start line than before.
  local started; started=$(grep -c 'Kafka Server started' "$dir/broker.log" 2>/dev/null || true)
  # setsid: the broker is its own process group, so `stop` can signal it all and
  # it survives the caller's terminal; no stdio is inherited, so $(broker.sh start)
  # does not hang on the broker's open stdout.
  setsid nohup "$JAVA" "${jvm[@]}" ${extra[@]+"${extra[@]}"} kafka.Kafka "$dir/server.properties" \
    >>"$dir/broker.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/broker.pid"
  log "started broker pid $pid on $addr, waiting up to ${START_TIMEOUT}s (log: $dir/broker.log)"
  local deadline=$((SECONDS + START_TIMEOUT))
  # Ready = startup finished (the broker logs this only once it is unfenced and its
  # listeners are open) AND the port answers; with kcat, also a real metadata request.
  until (( $(grep -c 'Kafka Server started' "$dir/broker.log" 2>/dev/null || true) > ${started:-0} )) \
      && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
      && { ! command -v kcat >/dev/null || kcat -L -b "$addr" -m 5 >/dev/null 2>&1; }; do
    # Not alive(): just after the fork the child may not have exec'd java yet.
    # Only our own child can be behind $pid here, so "gone or zombie" = exited.
    if [[ ! -e /proc/$pid || $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1) == Z ]]; then
      tail -n 40 "$dir/broker.log" >&2; rm -f "$dir/broker.pid"
      die "broker exited during startup (log tail above, full log $dir/broker.log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$dir/broker.log" >&2; stop "$dir"
      die "broker did not become ready within ${START_TIMEOUT}s (log tail above, full log $dir/broker.log)"
    fi
    sleep 0.2
  done
  echo "$addr" >"$dir/bootstrap"
  log "ready on $addr after $((SECONDS + START_TIMEOUT - deadline))s"
  echo "$addr"
}

# restart DIR starts the broker of DIR again on the ports and data it had.
restart() {
  local dir; dir=$(cd "$1" && pwd)
  running_pid "$dir" >/dev/null && die "a broker is already running for $dir (pid $(cat "$dir/broker.pid"))"
  [[ -f $dir/server.properties && -d $dir/data ]] || die "no broker was started in $dir; use start"
  need_java; fetch
  local addr; addr=$(sed -n 's|^advertised.listeners=PLAINTEXT://||p' "$dir/server.properties")
  [[ -n $addr ]] || die "no advertised listener in $dir/server.properties"
  run_broker "$dir" "$addr" "${addr##*:}"
}

# crash DIR kills the broker of DIR at once, as a crash would.
crash() {
  local dir=$1 pid
  pid=$(running_pid "$dir") || die "no broker is running for $dir"
  kill -KILL -- "-$pid" 2>/dev/null || true
  while alive "$pid"; do sleep 0.1; done
  rm -f "$dir/broker.pid"
  log "killed broker pid $pid"
}

stop() {
  local dir=$1 pid i
  pid=$(running_pid "$dir") || { rm -f "$dir/broker.pid"; return 0; }
  kill -TERM -- "-$pid" 2>/dev/null || true  # pid == process group id (setsid)
  for ((i = 0; i < 150; i++)); do  # 15 s for a clean shutdown
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    log "broker pid $pid ignored SIGTERM for 15s, sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
    while alive "$pid"; do sleep 0.1; done
  fi
  rm -f "$dir/broker.pid"
  log "stopped broker pid $pid"
}

case "${1:-}" in
  fetch) need_java; fetch ;;
  start) [[ -n ${2:-} ]] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [[ -n ${2:-} ]] || die "usage: $0 stop DIR"; stop "$2" ;;
  crash) [[ -n ${2:-} ]] || die "usage: $0 crash DIR"; crash "$2" ;;
  restart) [[ -n ${2:-} ]] || die "usage: $0 restart DIR"; restart "$2" ;;
  *) die "usage: $0 fetch | start DIR | stop DIR | crash DIR | restart DIR" ;;
esac
