package metrics

import (
	"fmt"
	"log"
	"strings"
	"sync"
)

// maxLogged bounds the distinct messages a onceLog writes: the HTTP
// server's messages name the client's address, so a client that provokes
// them on every connection could otherwise fill the log.
const maxLogged = 100

// onceLog writes each kind of message once, and at most maxLogged in all.
type onceLog struct {
	out *log.Logger

	mu         sync.Mutex
	seen       map[string]bool
	suppressed bool
}

func newOnceLog(out *log.Logger) *onceLog {
	return &onceLog{out: out, seen: map[string]bool{}}
}

// print writes msg unless a message of this kind was written before.
func (l *onceLog) print(kind, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[kind] {
		return
	}
	if len(l.seen) >= maxLogged {
		if !l.suppressed {
			l.suppressed = true
			l.out.Print("more problems than are worth logging; further messages are suppressed (opsdeck_metrics_errors_total and promhttp_metric_handler_errors_total count them)")
		}
		return
	}
	l.seen[kind] = true
	l.out.Print(msg)
}

// Write makes l the writer of a *log.Logger (http.Server.ErrorLog) whose
// messages are their own kind.
func (l *onceLog) Write(p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	l.print(msg, msg)
	return len(p), nil
}

// Println makes l a promhttp.Logger.
func (l *onceLog) Println(v ...any) {
	msg := strings.TrimSuffix(fmt.Sprintln(v...), "\n")
	l.print(msg, msg)
}
