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
    HTTP_PORT                   /healthz /readyz /metrics (8080; 0 disables)
    WRITER_CHECKPOINT_INTERVAL, WRITER_REQUEST_TIMEOUT, WRITER_CONNECT_TIMEOUT, WRITER_MAX_BACKOFF,
    WRITER_STOP_TIMEOUT         seconds (0.2, 5, 5, 1, 8; the stop timeout at most 12, so a 30 s grace period
                                covers draining and storing last_seq)
    WRITER_RESOLVE_AFTER        seconds with no successful write before the seeds are resolved again and the
                                session rebuilt (60): pods that all came back with new IPs are found
    WRITER_UNHEALTHY_AFTER      seconds more without progress before /healthz answers 503 with the reason (120)
    WRITER_UNREADY_AFTER        seconds of failing writes, none succeeding, before /readyz answers 503 (10)
    WRITER_STARTUP_BUDGET       seconds to get writing (connect, schema, last_seq) before /healthz answers 503 (300)
    WRITER_MODE                 robust (default) or seed: the assignment's naive Go writer (writer.seed)
    WRITER_RESUME               seed mode only: true reads last_seq first (section V's fix); robust always resumes

Every number is bounded; an unknown WRITER_* name, or any name a typo away from one of these, is refused.
Kubernetes' service-link variables (<SERVICE>_SERVICE_HOST, <SERVICE>_PORT_8080_TCP ...) are ignored.

Modules: config (environment), errors (permanent vs transient), levels (whether the keyspace can ever meet
CONSISTENCY), seeds (resolving CASSANDRA_SEEDS), store
(Cassandra session, schema, async writes), watermark (the contiguous watermark), latency (p99 for the
speculative delay), loop (pipelined writes, retries, checkpoints, rebuilds), metrics + http (probes and
Prometheus), log (the Go writer's log format), seed (WRITER_MODE=seed). This package never imports the lab's
tasks or the ``lab`` library: the image ships only this folder.
"""
