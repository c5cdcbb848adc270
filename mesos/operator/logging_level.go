package operator

import (
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// LoggingLevel carries out GET_LOGGING_LEVEL and SET_LOGGING_LEVEL. Mesos
// speaks of glog's verbosity: 0 is the normal level, higher is more
// verbose. mesh maps 0 to the level the process started with (or info if
// that was more verbose), 1 to debug and 2 or more to trace. A level set
// for a duration reverts to the starting level when the duration ends;
// a new SET replaces the previous one and its timer.
type LoggingLevel struct {
	logger hclog.Logger
	// base is the level the process started with.
	base hclog.Level

	mu    sync.Mutex
	timer *time.Timer // reverts the current SET; nil when none is pending
	// gen numbers the SETs: a timer that fired just as a newer SET
	// replaced it must not revert the newer one.
	gen uint64
}

// NewLoggingLevel controls logger's level; its current level is the one
// the process started with.
func NewLoggingLevel(logger hclog.Logger) *LoggingLevel {
	return &LoggingLevel{logger: logger, base: logger.GetLevel()}
}

// Get returns the current verbosity.
func (l *LoggingLevel) Get() uint32 {
	switch lvl := l.logger.GetLevel(); {
	case lvl <= hclog.Trace && l.base > hclog.Trace:
		return 2
	case lvl <= hclog.Debug && l.base > hclog.Debug:
		return 1
	}
	return 0
}

// Set changes the verbosity for d, then reverts it.
func (l *LoggingLevel) Set(v uint32, d time.Duration) {
	lvl := l.base
	switch {
	case v >= 2:
		lvl = hclog.Trace
	case v == 1:
		lvl = hclog.Debug
	}
	if lvl > l.base {
		lvl = l.base // never quieter than the process was started
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
	}
	l.logger.SetLevel(lvl)
	l.logger.Info("logging level set", "level", v, "hclog_level", lvl.String(), "duration", d)
	l.gen++
	gen := l.gen
	l.timer = time.AfterFunc(d, func() { l.revert(gen) })
}

// revert restores the starting level, unless a newer SET took over.
func (l *LoggingLevel) revert(gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if gen != l.gen {
		return
	}
	l.timer = nil
	l.logger.SetLevel(l.base)
}

// Stop cancels a pending revert and restores the starting level, when
// the process shuts down.
func (l *LoggingLevel) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
		l.logger.SetLevel(l.base)
	}
}
