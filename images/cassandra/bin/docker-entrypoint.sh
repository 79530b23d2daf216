#!/bin/bash
# Entrypoint of the lab's Cassandra image: a drop-in for the official image's environment contract.
#
#   CASSANDRA_CLUSTER_NAME     cluster_name                       (default: Test Cluster)
#   CASSANDRA_SEEDS            comma-separated seeds              (default: this node's broadcast address)
#   CASSANDRA_LISTEN_ADDRESS   listen_address, or "auto"          (default: the container's IP)
#   CASSANDRA_BROADCAST_ADDRESS          broadcast_address        (default: listen address)
#   CASSANDRA_RPC_ADDRESS                rpc_address              (default: 0.0.0.0)
#   CASSANDRA_BROADCAST_RPC_ADDRESS      broadcast_rpc_address    (default: broadcast address)
#   CASSANDRA_ENDPOINT_SNITCH  endpoint_snitch                    (default: SimpleSnitch)
#   CASSANDRA_DC, CASSANDRA_RACK  written for GossipingPropertyFileSnitch (default: datacenter1, rack1)
#   CASSANDRA_NUM_TOKENS       num_tokens                         (default: 16)
#   MAX_HEAP_SIZE, HEAP_NEWSIZE  heap (-Xms/-Xmx) and young generation (-Xmn); set both or neither
#   JVM_OPTS                   appended last, so it wins over everything above
#   CASSANDRA_CDS              "off": start without the image's class-data sharing archive (default: on)
#   CASSANDRA_SEED_WAIT        seconds to wait for seed names to resolve before starting (default 300;
#                              0: no wait). Not in the official image; see wait_for_seeds below.
#
# `docker run IMAGE` (or `IMAGE cassandra -f`) starts the server in the foreground; any other
# command (`nodetool status`, `cqlsh`, `bash`) runs as given.
set -euo pipefail
# bash 5.2 would put the matched text wherever a value has '&' in ${var//pattern/value}.
shopt -u patsub_replacement 2>/dev/null || true

CASSANDRA_HOME=${CASSANDRA_HOME:-/opt/cassandra}
CASSANDRA_CONF=${CASSANDRA_CONF:-/etc/cassandra}

die() {
    echo "docker-entrypoint: $*" >&2
    exit 2
}

# The first IPv4 address of this container; `hostname -i` can list several when it has many networks.
container_ip() {
    local ip
    ip=$(hostname -i 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n1 || true)
    [ -n "$ip" ] || ip=$(getent hosts "$(hostname)" | awk '{print $1; exit}')
    [ -n "$ip" ] || die "cannot find this container's IP address; set CASSANDRA_LISTEN_ADDRESS"
    echo "$ip"
}

# Substitutes every @@KEY@@ in a template with bash only: values may hold any character
# (a cluster name with '/' or '&' would break a sed expression).
render() {
    local template=$1 target=$2 text key
    shift 2
    text=$(<"$template")
    for key in "$@"; do
        text=${text//@@${key%%=*}@@/${key#*=}}
    done
    if [[ $text == *@@*@@* ]]; then
        die "unrendered placeholder left in $target"
    fi
    printf '%s\n' "$text" >"$target"
}

# Heap when MAX_HEAP_SIZE is unset: Cassandra's rule, max(min(ram/2, 1G), min(ram/4, 8G)), where
# ram is the container's memory limit if it has one, else the machine's memory.
default_heap_mb() {
    local ram_mb limit
    ram_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
    for limit in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
        if [ -r "$limit" ] && [[ $(<"$limit") =~ ^[0-9]+$ ]]; then
            local cg_mb=$(( $(<"$limit") / 1024 / 1024 ))
            (( cg_mb < ram_mb )) && ram_mb=$cg_mb
        fi
    done
    local half=$(( ram_mb / 2 )) quarter=$(( ram_mb / 4 ))
    (( half > 1024 )) && half=1024
    (( quarter > 8192 )) && quarter=8192
    echo $(( half > quarter ? half : quarter ))
}

# The JVM flags file: one flag a line, comments and blank lines skipped.
read_options() {
    grep -E '^[[:space:]]*-' "$1" | sed -e 's/[[:space:]]*$//'
}

# Cassandra resolves its seeds once, at start-up, and with none resolvable it exits ("The seed provider
# lists no seeds"). On Kubernetes a pod whose node has just restarted can start before cluster DNS
# answers, so it would crash-loop until DNS is up; waiting here, bounded and logged, turns that into one
# slow start. Literal addresses need no lookup. When time is up: start with the seeds that resolve, or,
# when none does, exit 2 naming them (Kubernetes restarts the pod, and the wait begins again).
wait_for_seeds() {
    local budget=${CASSANDRA_SEED_WAIT:-300} seed host started=$SECONDS told=-10
    local -a names=() pending
    [[ $budget =~ ^[0-9]+$ ]] || die "CASSANDRA_SEED_WAIT must be a whole number of seconds, got '$budget'"
    IFS=, read -ra seeds_list <<<"$1"
    for seed in "${seeds_list[@]}"; do
        seed=${seed//[[:space:]]/}
        host=$seed
        # host:port (one colon); several colons is an IPv6 address, "[v6]:port" is bracketed.
        [[ $host == \[*\]* ]] && host=${host#[} && host=${host%%]*}
        [[ $host == *:*:* ]] || host=${host%:*}
        [[ -z $host || $host =~ ^[0-9]+(\.[0-9]+){3}$ || $host == *:* ]] && continue
        names+=("$host")
    done
    while :; do
        pending=()
        for host in "${names[@]}"; do
            getent hosts "$host" >/dev/null 2>&1 || pending+=("$host")
        done
        local waited=$(( SECONDS - started ))
        if [ ${#pending[@]} -eq 0 ]; then
            (( waited == 0 )) || echo "docker-entrypoint: seeds resolve after ${waited}s: ${names[*]}"
            return 0
        fi
        if (( waited >= budget )); then
            if [ ${#pending[@]} -lt ${#names[@]} ] || [ ${#names[@]} -lt ${#seeds_list[@]} ]; then
                echo "docker-entrypoint: warning: after ${budget}s these seeds still do not resolve: ${pending[*]}; starting with the others" >&2
                return 0
            fi
            die "no seed resolves after ${budget}s (CASSANDRA_SEED_WAIT): ${pending[*]}; is cluster DNS up?"
        fi
        if (( waited - told >= 10 )); then
            echo "docker-entrypoint: waiting for seeds to resolve (${waited}s of ${budget}s): ${pending[*]}"
            told=$waited
        fi
        sleep 1
    done
}

start_cassandra() {
    local ip listen broadcast rpc broadcast_rpc seeds
    ip=""
    listen=${CASSANDRA_LISTEN_ADDRESS:-auto}
    if [ "$listen" = auto ]; then
        ip=$(container_ip)
        listen=$ip
    fi
    broadcast=${CASSANDRA_BROADCAST_ADDRESS:-$listen}
    [ "$broadcast" = auto ] && broadcast=${ip:-$(container_ip)}
    rpc=${CASSANDRA_RPC_ADDRESS:-0.0.0.0}
    broadcast_rpc=${CASSANDRA_BROADCAST_RPC_ADDRESS:-$broadcast}
    seeds=${CASSANDRA_SEEDS:-$broadcast}
    wait_for_seeds "$seeds"

    local num_tokens=${CASSANDRA_NUM_TOKENS:-16}
    [[ $num_tokens =~ ^[1-9][0-9]*$ ]] || die "CASSANDRA_NUM_TOKENS must be a positive integer, got '$num_tokens'"

    # Single-quoted in the YAML, where a quote is written twice.
    local cluster_name=${CASSANDRA_CLUSTER_NAME:-Test Cluster}
    cluster_name=${cluster_name//\'/\'\'}
    render "$CASSANDRA_HOME/templates/cassandra.yaml.template" "$CASSANDRA_CONF/cassandra.yaml" \
        "CLUSTER_NAME=$cluster_name" \
        "NUM_TOKENS=$num_tokens" \
        "SEEDS=$seeds" \
        "LISTEN_ADDRESS=$listen" \
        "BROADCAST_ADDRESS=$broadcast" \
        "RPC_ADDRESS=$rpc" \
        "BROADCAST_RPC_ADDRESS=$broadcast_rpc" \
        "ENDPOINT_SNITCH=${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}"
    render "$CASSANDRA_HOME/templates/cassandra-rackdc.properties.template" \
        "$CASSANDRA_CONF/cassandra-rackdc.properties" \
        "DC=${CASSANDRA_DC:-datacenter1}" "RACK=${CASSANDRA_RACK:-rack1}"

    # The official image insists on both or neither: a young generation without a heap is a typo.
    if { [ -n "${MAX_HEAP_SIZE:-}" ] && [ -z "${HEAP_NEWSIZE:-}" ]; } || { [ -z "${MAX_HEAP_SIZE:-}" ] && [ -n "${HEAP_NEWSIZE:-}" ]; }; then
        die "set MAX_HEAP_SIZE and HEAP_NEWSIZE together (for example 512M and 128M), or neither"
    fi
    local heap=${MAX_HEAP_SIZE:-$(default_heap_mb)M}

    local -a jvm
    mapfile -t jvm < <(read_options "$CASSANDRA_CONF/jvm17.options")
    jvm+=(
        -Xms"$heap" -Xmx"$heap"
        -XX:+UseG1GC
        -XX:+ParallelRefProcEnabled
        -XX:MaxTenuringThreshold=1
        -XX:MaxGCPauseMillis=300
        -XX:InitiatingHeapOccupancyPercent=70
        -Xss256k
        -XX:+UseThreadPriorities
        -XX:+UseTLAB -XX:+ResizeTLAB
        # A JVM that ran out of memory is in an unknown state: exit so Docker/Kubernetes restart it.
        -XX:+ExitOnOutOfMemoryError
        # Keep the JVM's perf counters out of /tmp (mmap writes there can stall GC).
        -XX:+PerfDisableSharedMem
        # Cassandra asserts its invariants at run time; openhft's asserts are meant for its tests.
        -ea -da:net.openhft...
        # jamm measures object sizes for memtable accounting; Cassandra refuses to guess without it.
        -javaagent:"$(ls "$CASSANDRA_HOME"/lib/jamm-*.jar | head -n1)"
        # JMX (nodetool) on 127.0.0.1:7199 only, without auth: reachable through `docker exec`.
        -Dcassandra.jmx.local.port=7199
        -Dcom.sun.management.jmxremote.authenticate=false
        # Without this Cassandra closes stdout once started, and the log goes with it.
        -Dcassandra-foreground=yes
        -Dcassandra.config=file://"$CASSANDRA_CONF"/cassandra.yaml
        -Dcassandra.storagedir=/var/lib/cassandra
        -Dcassandra.logdir=/var/lib/cassandra/logs
        -Dlogback.configurationFile="$CASSANDRA_CONF"/logback.xml
    )
    # Class-data sharing: the image holds an archive of the classes a start loads, recorded when it was built
    # (bin/cds-archive); the JVM maps it instead of reading, parsing and verifying those classes again. A JVM
    # whose flags or class path do not match the archive starts without it (-Xshare:auto, the default).
    # CASSANDRA_CDS=off leaves it out.
    if [ -r "$CASSANDRA_HOME/cds/cassandra.jsa" ] && [ "${CASSANDRA_CDS:-on}" != off ]; then
        jvm+=(-XX:+UnlockDiagnosticVMOptions -XX:+AllowArchivingWithJavaAgent
              -XX:SharedArchiveFile="$CASSANDRA_HOME/cds/cassandra.jsa")
    fi
    # G1 sizes the young generation itself against its pause target; -Xmn would override that, so
    # HEAP_NEWSIZE only applies when JVM_OPTS choose another collector (as Cassandra's scripts do).
    if [ -n "${HEAP_NEWSIZE:-}" ] && [[ " ${JVM_OPTS:-} " =~ \ -XX:\+Use(Parallel|Serial|ConcMarkSweep)GC\  ]]; then
        jvm+=(-Xmn"$HEAP_NEWSIZE")
    fi
    # JVM_OPTS is word-split on purpose: it is a list of flags, as in the official image.
    # shellcheck disable=SC2206
    jvm+=(${JVM_OPTS:-})

    echo "docker-entrypoint: cluster=${CASSANDRA_CLUSTER_NAME:-Test Cluster} listen=$listen broadcast=$broadcast seeds=$seeds heap=$heap"
    # exec: java becomes PID 1 and receives `docker stop`'s SIGTERM itself, so Cassandra's
    # shutdown hook drains and flushes before the JVM exits.
    # The configuration directory last: the JVM archives classes from jars only, and only while no non-empty
    # directory comes before them on the class path.
    exec java "${jvm[@]}" -cp "$CASSANDRA_HOME/lib/*:$CASSANDRA_CONF" org.apache.cassandra.service.CassandraDaemon
}

# `docker run IMAGE -Dfoo=bar` means "start Cassandra with these extra flags", as in the official image.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = - ]; then
    set -- cassandra "$@"
fi

if [ "$1" = cassandra ]; then
    shift
    extra=()
    for arg in "$@"; do
        # -f (foreground) is the only mode here; anything else goes to the JVM.
        [ "$arg" = -f ] || extra+=("$arg")
    done
    JVM_OPTS="${JVM_OPTS:-}${extra[*]:+ ${extra[*]}}"
    start_cassandra
fi

exec "$@"
