"""The assignment's names, as cassandra.yml and writer.yml spell them, and the size of its ring.

Every module that selects pods, waits for a rollout or counts nodes takes them from here, so a renamed
label or a fourth replica is one edit.
"""

#: The Cassandra cluster name cassandra.yml sets (CASSANDRA_CLUSTER_NAME); the writer logs it too.
CLUSTER_NAME = "ece573-prj04"
#: Replicas of the Cassandra StatefulSet (cassandra.yml) and nodes that must show UN.
CASSANDRA_REPLICAS = 3

CASSANDRA_SELECTOR = "app=cassandra"
CASSANDRA_STATEFULSET = "cassandra"
CASSANDRA_CONTAINER = "cassandra"
#: The StatefulSet's pods, by the names it gives them.
CASSANDRA_PODS = tuple(f"{CASSANDRA_STATEFULSET}-{n}" for n in range(CASSANDRA_REPLICAS))
#: The StatefulSet's volumeClaimTemplate: pod cassandra-N keeps its data in PVC cassandra-data-cassandra-N.
CASSANDRA_DATA_CLAIM = "cassandra-data"
CASSANDRA_INIT_CONTAINER = "setup"  # copies the config and the Secret's cqlsh logins into the pod (cassandra.yml)

WRITER_SELECTOR = "app=ece573-prj04-writer"
WRITER_DEPLOYMENT = "ece573-prj04-writer"
#: writer.yml's NetworkPolicy, one for every writer pod (lab.security.monitoring_namespace adds its rule there).
WRITER_POLICY = "ece573-prj04-writer"
WRITER_CONTAINER = "writer"
#: The WRITER_MODE the lab sets on a writer of your own (`invoke build --writer-dir`): your writer ignores it; the
#: lab reads it back from the Deployment to know whose values a topic holds (verify checks only its own writer's).
OWN_WRITER_MODE = "own"
#: Every writer pod (writer.yml's Deployment, once per topic; lab/writers.py): labels all of them carry,
#: while each Deployment's own selector (app=<its name>) picks only its pods.
WRITERS_SELECTOR = "app.kubernetes.io/component=writer,app.kubernetes.io/part-of=ece573-prj04"
#: Every pod of the lab: Cassandra's and every writer's.
LAB_SELECTOR = "app.kubernetes.io/part-of=ece573-prj04"
#: Cassandra's CQL port (cassandra.yml's `cql`): clients connect there, and its NetworkPolicy admits writers to it.
CQL_PORT = 9042
