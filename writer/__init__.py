"""The lab's writer: appends seqs of one topic to Cassandra, resumable, crash-safe and fast.

Run it as ``python -m writer`` (the image's entrypoint). Its environment (validated by ``writer.config``):

    TOPIC                       required; the partition this writer appends to
    CONSISTENCY                 ONE TWO THREE QUORUM ALL LOCAL_ONE LOCAL_QUORUM EACH_QUORUM (default QUORUM)
    CASSANDRA_SEEDS             comma-separated hosts, host:port allowed (default 127.0.0.1)
    CASSANDRA_PORT              9042;  KEYSPACE ece573;  REPLICATION_FACTOR 3 (used only when creating it)
    CASSANDRA_DC                local datacenter (default: asked from the first node that answers)
    CASSANDRA_USERNAME/PASSWORD optional, together
    WRITER_MAX_SEQS             write this many seqs, store last_seq, exit 0 (default: forever)
    WRITER_IN_FLIGHT            concurrent writes (128);  WRITER_BATCH_SIZE rows per batch (32; 1 = plain INSERTs)
    WRITER_RATE                 seqs per second cap (default none);  LOG_EVERY progress line interval (1000)
    HTTP_PORT                   /healthz /readyz /metrics (8080; 0 disables)
    WRITER_CHECKPOINT_INTERVAL, WRITER_REQUEST_TIMEOUT, WRITER_CONNECT_TIMEOUT, WRITER_MAX_BACKOFF,
    WRITER_STOP_TIMEOUT         seconds (0.2, 5, 5, 1, 8)

Modules: config (environment), store (Cassandra session, schema, async writes), watermark (the contiguous
watermark), loop (pipelined writes, retries, checkpoints), metrics + http (probes and Prometheus), log (the Go
writer's log format). This package never imports the lab's tasks or the ``lab`` library: the image ships only
this folder.
"""
