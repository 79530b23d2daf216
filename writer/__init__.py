"""The lab's writer: appends seqs of one topic to Cassandra, resumable, crash-safe and fast.

Run it as ``python -m writer`` (the image's entrypoint). Its environment (validated by ``writer.config``):

    TOPIC                       required; the partition this writer appends to
    CONSISTENCY                 ONE TWO THREE QUORUM ALL LOCAL_ONE LOCAL_QUORUM EACH_QUORUM (default QUORUM)
    CASSANDRA_SEEDS             comma-separated hosts, host:port allowed (default 127.0.0.1)
    CASSANDRA_PORT              9042;  KEYSPACE ece573 (folded to lower case, as Cassandra does);
                                REPLICATION_FACTOR 3 (used only when creating it)
    CASSANDRA_DC                local datacenter (default: asked from the first node that answers)
    CASSANDRA_USERNAME/PASSWORD optional, together
    WRITER_MAX_SEQS             write this many seqs, store last_seq, exit 0 (default: forever)
    WRITER_IN_FLIGHT            concurrent writes (128);  WRITER_BATCH_SIZE rows per batch (32; 1 = plain INSERTs);
                                their product at most 131072 rows
    WRITER_RATE                 seqs per second cap (default none; capped, one batch every 50 ms)
    LOG_EVERY                   progress line interval (1000)
    HTTP_PORT                   /healthz /readyz /metrics /acks (8080; 0 disables)
    WRITER_CHECKPOINT_INTERVAL, WRITER_REQUEST_TIMEOUT, WRITER_CONNECT_TIMEOUT, WRITER_MAX_BACKOFF,
    WRITER_STOP_TIMEOUT         seconds (0.2, 5, 5, 1, 8; the stop timeout at most 12, so a 30 s grace period
                                covers draining and storing last_seq)
    WRITER_RESOLVE_AFTER        seconds with no successful write before the session is rebuilt whatever the
                                seeds resolve to (60); during an outage they are resolved every 2 s anyway,
                                and a new address (every pod back with a new IP) rebuilds it at once
    WRITER_UNHEALTHY_AFTER      seconds more without progress before /healthz answers 503 with the reason (120)
    WRITER_UNREADY_AFTER        seconds of failing writes, none succeeding, before /readyz answers 503 (10)
    WRITER_STARTUP_BUDGET       seconds to get writing (connect, schema, last_seq) before /healthz answers 503 (300)
    WRITER_MODE                 robust (default) or seed: the assignment's naive Go writer (writer.seed)
    WRITER_RESUME               seed mode only: true reads last_seq first (section V's fix); robust always resumes

Every number is bounded; an unknown WRITER_* name, or any name a typo away from one of these, is refused.
Kubernetes' service-link variables (<SERVICE>_SERVICE_HOST, <SERVICE>_PORT_8080_TCP ...) are ignored.

Each row's value is ``writer.values.value_for(topic, seq)``, a pure function of the key: a re-send after a
timeout, a re-write after a restart or a second pod writing the topic all write the same row, and anyone can
check the stored values. (WRITER_MODE=seed keeps the assignment's random values: that is its lesson.)
The driver holds at most 2 x WRITER_IN_FLIGHT + 2 writes (writer.loop.max_outstanding), and new seqs wait
while they would run more than 4 x WRITER_IN_FLIGHT units above the acknowledged prefix. HTTP_PORT also serves
/acks: the wall-clock time of every advance of the acknowledged prefix (writer.acks).

Modules: config (environment), errors (permanent vs transient), levels (whether the keyspace can ever meet
CONSISTENCY), seeds (resolving CASSANDRA_SEEDS), store
(Cassandra session, schema, async writes), values (the value of a seq), watermark (the contiguous watermark),
acks (when it advanced), latency (p99 for the speculative delay), loop (pipelined writes, retries,
checkpoints, rebuilds), metrics + http (probes, Prometheus, /acks), log (the Go writer's log format), seed
(WRITER_MODE=seed). This package never imports the lab's tasks or the ``lab`` library: the image ships only
this folder.
"""
