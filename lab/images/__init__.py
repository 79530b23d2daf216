"""Images built here without a registry: one module per image (cassandra, kindnode, writer, registry), and
builders, the seam through which the workflow and the tasks call them."""
