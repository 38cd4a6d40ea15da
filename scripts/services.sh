#!/usr/bin/env bash
# Installs (when missing) and runs the two backing services the tests and the
# cluster mode need: etcd (Debian's etcd-server) and a single-node Apache Kafka
# broker in KRaft mode (jars from Maven Central). Everything listens on loopback.
#
#   scripts/services.sh up            start both if they are not running
#   scripts/services.sh down          stop what `up` started
#   scripts/services.sh status        print whether each answers
#   scripts/services.sh run CMD...    up, run CMD with the endpoints exported, then
#                                     stop whatever this call started
#
# Endpoints (override with the variables): FAAS_ETCD_ENDPOINTS, FAAS_KAFKA_BROKERS.
set -euo pipefail

ETCD_PORT="${FAAS_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${FAAS_ETCD_PEER_PORT:-23800}"
KAFKA_PORT="${FAAS_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${FAAS_KAFKA_CONTROLLER_PORT:-29093}"
KAFKA_VERSION="${FAAS_KAFKA_VERSION:-3.9.1}"
CACHE_DIR="${FAAS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faas}"
STATE_DIR="${FAAS_STATE_DIR:-$CACHE_DIR/state}"
KAFKA_LIB="$CACHE_DIR/kafka-$KAFKA_VERSION/lib"

export FAAS_ETCD_ENDPOINTS="${FAAS_ETCD_ENDPOINTS:-http://127.0.0.1:$ETCD_PORT}"
export FAAS_KAFKA_BROKERS="${FAAS_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"

log() { printf '[services] %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds name
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    if ((SECONDS >= deadline)); then
      log "$3 did not open port $1 within $2 s; see $STATE_DIR"
      exit 1
    fi
    sleep 0.2
  done
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_etcd() {
  command -v etcd >/dev/null && return 0
  log "installing etcd-server from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq etcd-server >/dev/null
  # Debian starts a system etcd on the default ports; ours runs on its own ports.
}

install_java() {
  command -v java >/dev/null && command -v mvn >/dev/null && return 0
  log "installing Java 17 and Maven from Debian"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
}

install_kafka() {
  [ -f "$KAFKA_LIB/kafka_2.13-$KAFKA_VERSION.jar" ] && return 0
  install_java
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central"
  local work
  work="$(mktemp -d)"
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.faas</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
  mkdir -p "$KAFKA_LIB.tmp"
  (cd "$work" && mvn -q -B dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIB.tmp") >&2
  rm -rf "$KAFKA_LIB" && mv "$KAFKA_LIB.tmp" "$KAFKA_LIB"
  rm -rf "$work"
}

start_etcd() {
  if port_open "$ETCD_PORT"; then return 1; fi
  install_etcd
  local dir="$STATE_DIR/etcd"
  rm -rf "$dir" && mkdir -p "$dir"
  log "starting etcd on 127.0.0.1:$ETCD_PORT"
  nohup etcd --name faas-dev --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "faas-dev=http://127.0.0.1:$ETCD_PEER_PORT" \
    >"$dir/etcd.log" 2>&1 &
  echo $! >"$STATE_DIR/etcd.pid"
  wait_port "$ETCD_PORT" 30 etcd
}

start_kafka() {
  if port_open "$KAFKA_PORT"; then return 1; fi
  install_kafka
  local dir="$STATE_DIR/kafka"
  rm -rf "$dir" && mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
message.max.bytes=2097152
EOF
  echo "log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n" >"$dir/log4j.properties"
  java -cp "$KAFKA_LIB/*" -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.tools.StorageTool format -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
    -c "$dir/server.properties" >"$dir/format.log" 2>&1
  log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -cp "$KAFKA_LIB/*" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$STATE_DIR/kafka.pid"
  wait_port "$KAFKA_PORT" 90 Kafka
}

stop_one() { # name
  local pidfile="$STATE_DIR/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

mkdir -p "$STATE_DIR"
cmd="${1:-status}"
shift || true
case "$cmd" in
up)
  start_etcd || true
  start_kafka || true
  ;;
down)
  stop_one kafka
  stop_one etcd
  ;;
status)
  port_open "$ETCD_PORT" && echo "etcd: up ($FAAS_ETCD_ENDPOINTS)" || echo "etcd: down"
  port_open "$KAFKA_PORT" && echo "kafka: up ($FAAS_KAFKA_BROKERS)" || echo "kafka: down"
  ;;
run)
  started=()
  if start_etcd; then started+=(etcd); fi
  if start_kafka; then started+=(kafka); fi
  cleanup() { for s in "${started[@]}"; do stop_one "$s"; done; }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  set +e
  "$@"
  rc=$?
  set -e
  exit "$rc"
  ;;
*)
  echo "usage: $0 up|down|status|run CMD..." >&2
  exit 2
  ;;
esac
