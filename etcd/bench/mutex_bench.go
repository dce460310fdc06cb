// The same work as bench_etcd.cpp with etcd's own recipe,
// clientv3/concurrency.Mutex, for the comparison in docs/etcd.md. Built
// offline from Debian's golang-go and golang-etcd-server-dev (run.sh):
//
//	mutex_bench ENDPOINTS uncontended ROUNDS
//	mutex_bench ENDPOINTS contended PROCS SECONDS
//
// Each process opens one client and one session (one lease, TTL 10 s, as
// polylock's default) and takes and releases the mutex; it prints one JSON
// object, as bench_etcd does.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/clientv3/concurrency"
)

func open(endpoints string) (*clientv3.Client, *concurrency.Session) {
	var urls []string
	for _, e := range strings.Split(endpoints, ",") {
		urls = append(urls, "http://"+e)
	}
	client, err := clientv3.New(clientv3.Config{Endpoints: urls, DialTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	session, err := concurrency.NewSession(client, concurrency.WithTTL(10))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return client, session
}

func pair(m *concurrency.Mutex) {
	ctx := context.Background()
	if err := m.Lock(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := m.Unlock(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: mutex_bench ENDPOINTS uncontended ROUNDS | contended PROCS SECONDS | worker NAME SECONDS")
		os.Exit(2)
	}
	endpoints, mode := os.Args[1], os.Args[2]
	switch mode {
	case "uncontended":
		rounds, _ := strconv.Atoi(os.Args[3])
		client, session := open(endpoints)
		defer client.Close()
		m := concurrency.NewMutex(session, fmt.Sprintf("/bench-go-uncontended-%d", os.Getpid()))
		pair(m)
		var micros []float64
		for i := 0; i < rounds; i++ {
			start := time.Now()
			pair(m)
			micros = append(micros, float64(time.Since(start).Microseconds()))
		}
		sort.Float64s(micros)
		fmt.Printf("{\"impl\": \"etcd concurrency.Mutex\", \"mode\": \"uncontended\", \"rounds\": %d, \"median_us\": %.0f, \"p90_us\": %.0f}\n",
			rounds, micros[len(micros)/2], micros[len(micros)*9/10])
	case "worker":
		seconds, _ := strconv.ParseFloat(os.Args[4], 64)
		client, session := open(endpoints)
		defer client.Close()
		m := concurrency.NewMutex(session, os.Args[3])
		pairs := 0
		end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
		for time.Now().Before(end) {
			pair(m)
			pairs++
		}
		fmt.Println(pairs)
	case "contended":
		procs, _ := strconv.Atoi(os.Args[3])
		seconds, _ := strconv.ParseFloat(os.Args[4], 64)
		name := fmt.Sprintf("/bench-go-contended-%d", os.Getpid())
		var workers []*exec.Cmd
		var outputs []*strings.Builder
		for p := 0; p < procs; p++ {
			cmd := exec.Command(os.Args[0], endpoints, "worker", name, os.Args[4])
			out := &strings.Builder{}
			cmd.Stdout, cmd.Stderr = out, os.Stderr
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			workers, outputs = append(workers, cmd), append(outputs, out)
		}
		total, least, most := 0, -1, 0
		for i, cmd := range workers {
			if err := cmd.Wait(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			n, _ := strconv.Atoi(strings.TrimSpace(outputs[i].String()))
			total += n
			if least < 0 || n < least {
				least = n
			}
			if n > most {
				most = n
			}
		}
		fmt.Printf("{\"impl\": \"etcd concurrency.Mutex\", \"mode\": \"contended\", \"procs\": %d, \"seconds\": %.1f, \"pairs_per_s\": %.1f, \"least\": %d, \"most\": %d}\n",
			procs, seconds, float64(total)/seconds, least, most)
	}
}
