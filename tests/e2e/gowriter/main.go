// Command writer is a small Go writer of the lab's own tests, written the way the assignment's writer.go is:
// gocql, one synchronous INSERT per table per seq, and log.Fatalf on the first error (Kubernetes restarts it).
//
// Environment, as the lab's writer.yml sets it: TOPIC, CONSISTENCY (ONE, QUORUM or ALL), CASSANDRA_SEEDS.
// Beyond writer.go, each off unless set: WRITER_RESUME=true (or -resume) reads the topic's stored last seq
// before the loop (section V's change); CASSANDRA_USERNAME and CASSANDRA_PASSWORD log in (a lab with
// lab.cassandra.auth on); WRITER_RATE caps the seqs per second.
package main

import (
	"flag"
	"log"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gocql/gocql"
)

const keyspace = "ece573"

func main() {
	resumeFlag := flag.Bool("resume", false, "start after the topic's last seq in ece573.prj04_last_seq")
	flag.Parse()

	topic := os.Getenv("TOPIC")
	if topic == "" {
		log.Fatalf("Unknown topic")
	}
	cs := os.Getenv("CONSISTENCY")
	var consistency gocql.Consistency
	switch strings.ToUpper(cs) {
	case "ONE":
		consistency = gocql.One
	case "QUORUM":
		consistency = gocql.Quorum
	case "ALL":
		consistency = gocql.All
	default:
		log.Fatalf("Unknown consistency level %s", cs)
	}
	resume := *resumeFlag || os.Getenv("WRITER_RESUME") == "true"
	var interval time.Duration
	if rate, err := strconv.ParseFloat(os.Getenv("WRITER_RATE"), 64); err == nil && rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}

	seed := os.Getenv("CASSANDRA_SEEDS")
	log.Printf("Connecting cluster at %s with consistency %s for topic %s", seed, cs, topic)
	cluster := gocql.NewCluster(strings.Split(seed, ",")...)
	cluster.Consistency = consistency
	if user := os.Getenv("CASSANDRA_USERNAME"); user != "" {
		cluster.Authenticator = gocql.PasswordAuthenticator{Username: user, Password: os.Getenv("CASSANDRA_PASSWORD")}
	}
	// TLS with the lab's CA (lab.security.tls): the node's chain is checked against it, not its host name (the
	// driver reaches nodes by pod IP, which changes at every restart).
	if ca := os.Getenv("CASSANDRA_TLS_CA"); ca != "" {
		cluster.SslOpts = &gocql.SslOptions{CaPath: ca, EnableHostVerification: false}
	}
	session, err := cluster.CreateSession()
	if err != nil {
		log.Fatalf("Cannot connect to cluster at %s: %v", seed, err)
	}
	defer session.Close()

	var name string
	if err := session.Query("SELECT cluster_name FROM system.local").Scan(&name); err != nil {
		log.Fatalf("Cannot query cluster: %v", err)
	}
	log.Printf("Connected to cluster %s", name)

	createSchema(session)
	log.Printf("Tables %s.prj04 and %s.prj04_last_seq ready.", keyspace, keyspace)

	lastSeq := 0
	if resume {
		err := session.Query("SELECT seq FROM "+keyspace+".prj04_last_seq WHERE topic = ?", topic).Scan(&lastSeq)
		if err != nil && err != gocql.ErrNotFound {
			log.Fatalf("Cannot read lastSeq of %s from table %s.prj04_last_seq: %v", topic, keyspace, err)
		}
	}
	log.Printf("%s: start from lastSeq=%d", topic, lastSeq)

	started := time.Now()
	for seq := lastSeq + 1; ; seq++ {
		if err := session.Query("INSERT INTO "+keyspace+".prj04 (topic, seq, value) VALUES (?, ?, ?)",
			topic, seq, rand.Float64()).Exec(); err != nil {
			log.Fatalf("Cannot write %d to table %s.prj04: %v", seq, keyspace, err)
		}
		if err := session.Query("INSERT INTO "+keyspace+".prj04_last_seq (topic, seq) VALUES (?, ?)",
			topic, seq).Exec(); err != nil {
			log.Fatalf("Cannot write %d to table %s.prj04_last_seq: %v", seq, keyspace, err)
		}
		if seq%1000 == 0 {
			log.Printf("%s: inserted rows to seq %d", topic, seq)
		}
		if interval > 0 {
			time.Sleep(time.Until(started.Add(time.Duration(seq-lastSeq) * interval)))
		}
	}
}

// createSchema makes what is missing of the keyspace and its two tables, as writer.go makes them. Only what is
// missing: on a lab with logins the schema is the operator's, and the writer's role may not CREATE.
func createSchema(session *gocql.Session) {
	tables := map[string]bool{}
	iter := session.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", keyspace).Iter()
	var table string
	for iter.Scan(&table) {
		tables[table] = true
	}
	if err := iter.Close(); err != nil {
		log.Fatalf("Cannot read the schema of %s: %v", keyspace, err)
	}
	statements := []struct{ table, cql string }{ // table "" stands for the keyspace
		{"", "CREATE KEYSPACE IF NOT EXISTS " + keyspace +
			" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}"},
		{"prj04", "CREATE TABLE IF NOT EXISTS " + keyspace +
			".prj04 (topic text, seq int, value double, PRIMARY KEY (topic, seq))"},
		{"prj04_last_seq", "CREATE TABLE IF NOT EXISTS " + keyspace +
			".prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))"},
	}
	for _, s := range statements {
		if (s.table == "" && len(tables) > 0) || tables[s.table] {
			continue
		}
		if err := session.Query(s.cql).Exec(); err != nil {
			log.Fatalf("Cannot create %s: %v", strings.TrimSuffix(keyspace+"."+s.table, "."), err)
		}
	}
}
