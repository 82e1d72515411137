// The scheduled job: runs `work` every JOB_INTERVAL and reports its last run on /healthz.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"sync"
	"time"
)

// Report is what the last run did.
type Report struct {
	Runs    int       `json:"runs"`
	LastRun time.Time `json:"last_run"`
	Done    string    `json:"done"`
}

type job struct {
	mu     sync.Mutex
	report Report
}

// work is the job itself: replace it with what your job does.
func work() string {
	return "nothing to do"
}

func (j *job) run(now time.Time) {
	done := work()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.report.Runs++
	j.report.LastRun = now
	j.report.Done = done
}

func (j *job) healthz(w http.ResponseWriter, _ *http.Request) {
	j.mu.Lock()
	defer j.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "report": j.report})
}

func main() {
	interval, err := time.ParseDuration(os.Getenv("JOB_INTERVAL"))
	if err != nil || interval <= 0 {
		log.Fatalf("JOB_INTERVAL must be a duration like 15m: %v", err)
	}
	j := &job{}
	go func() {
		for now := range time.Tick(interval) {
			j.run(now)
		}
	}()
	http.HandleFunc("/healthz", j.healthz)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
