package main

import (
	"testing"
	"time"
)

func TestRunCounts(t *testing.T) {
	j := &job{}
	j.run(time.Unix(0, 0))
	j.run(time.Unix(60, 0))
	if j.report.Runs != 2 || j.report.Done == "" {
		t.Fatalf("unexpected report %+v", j.report)
	}
}
