"""Images built here without a registry: one module per image (cassandra, kind node, writer)."""
