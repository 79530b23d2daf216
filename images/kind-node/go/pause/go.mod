module lab.local/kind-node/pause

go 1.22.0
