#!/bin/sh
# podnet: the pod network of the lab's kind nodes, in place of kindnetd (whose module the Go proxy
# does not serve here). It runs in kind's own CNI DaemonSet, with the same environment, and does what
# that DaemonSet must do on each node:
#   - write /etc/cni/net.d/10-kindnet.conflist (ptp + host-local + portmap) for this node's podCIDR;
#   - route every other node's podCIDR via that node's InternalIP (all nodes share one docker network);
#   - masquerade traffic from pods to anything outside the pod subnet.
# Nodes are polled from the API server every few seconds (curl + jq: the pod is limited to 50Mi).
set -eu
: "${HOST_IP:?HOST_IP is not set}" "${POD_SUBNET:?POD_SUBNET is not set}"
SA=/var/run/secrets/kubernetes.io/serviceaccount
SERVER="https://${CONTROL_PLANE_ENDPOINT:-${KUBERNETES_SERVICE_HOST}:${KUBERNETES_SERVICE_PORT}}"
CONF=/etc/cni/net.d/10-kindnet.conflist
INTERVAL=${PODNET_INTERVAL:-5}

log() { echo "$(date -u +%FT%TZ) $*"; }

list_nodes() {
    curl -fsS --max-time 10 --cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")" \
        "$SERVER/api/v1/nodes" \
    | jq -r '.items[] | [(.spec.podCIDR // ""), ([.status.addresses[]? | select(.type == "InternalIP") | .address][0] // "")] | @tsv'
}

write_conf() {
    mtu=$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo 1500)
    cat > "$CONF.tmp" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kindnet",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": $mtu,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "routes": [{"dst": "0.0.0.0/0"}],
        "ranges": [[{"subnet": "$1"}]]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF
    if cmp -s "$CONF.tmp" "$CONF"; then rm -f "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; log "wrote $CONF for $1"; fi
}

ensure_masquerade() {
    iptables -t nat -N PODNET-MASQ 2>/dev/null || true
    iptables -t nat -C POSTROUTING -m comment --comment podnet -j PODNET-MASQ 2>/dev/null \
        || iptables -t nat -A POSTROUTING -m comment --comment podnet -j PODNET-MASQ
    iptables -t nat -C PODNET-MASQ -d "$POD_SUBNET" -j RETURN 2>/dev/null \
        || iptables -t nat -A PODNET-MASQ -d "$POD_SUBNET" -j RETURN
    iptables -t nat -C PODNET-MASQ -s "$POD_SUBNET" -j MASQUERADE 2>/dev/null \
        || iptables -t nat -A PODNET-MASQ -s "$POD_SUBNET" -j MASQUERADE
}

log "podnet on $HOST_IP, pod subnet $POD_SUBNET, API $SERVER"
while true; do
    if nodes=$(list_nodes); then
        echo "$nodes" | while IFS="$(printf '\t')" read -r cidr ip; do
            [ -n "$cidr" ] && [ -n "$ip" ] || continue
            if [ "$ip" = "$HOST_IP" ]; then
                write_conf "$cidr"
            elif ! ip route show "$cidr" | grep -q "via $ip "; then
                ip route replace "$cidr" via "$ip" && log "route $cidr via $ip"
            fi
        done
        ensure_masquerade
    else
        log "cannot list nodes from $SERVER; retrying"
    fi
    sleep "$INTERVAL"
done
