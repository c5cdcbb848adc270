package operator

import (
	"sort"
	"time"

	mapi "mesh/mesos/master"
	"mesh/version"
)

// Common answers the calls servers and agents answer alike, from what
// the process tells it.
type Common struct {
	// Healthy says whether the process can serve its clients now.
	Healthy func() bool
	// Flags are the process' settings, by flag name.
	Flags func() map[string]string
	// Metrics are the process' /metrics/snapshot values, by name.
	Metrics func() map[string]float64
	// Level is the process' logging level.
	Level *LoggingLevel
}

// Answer carries out c when it is one of the common calls (ok is true
// then); a nil response is an empty 200.
func (cm *Common) Answer(c *mapi.Call) (resp *mapi.Response, ok bool) {
	switch c.Type {
	case mapi.CallGetHealth:
		return &mapi.Response{Type: mapi.ResponseGetHealth, GetHealth: &mapi.GetHealth{Healthy: cm.Healthy()}}, true
	case mapi.CallGetFlags:
		return &mapi.Response{Type: mapi.ResponseGetFlags, GetFlags: getFlags(cm.Flags())}, true
	case mapi.CallGetVersion:
		return &mapi.Response{Type: mapi.ResponseGetVersion, GetVersion: &mapi.GetVersion{VersionInfo: mapi.VersionInfo{
			Version: version.Version, GitSHA: version.GitSHA, GitTag: version.Version}}}, true
	case mapi.CallGetMetrics:
		// mesh computes every metric at once from its state: there is no
		// slow collector for the timeout to bound.
		return &mapi.Response{Type: mapi.ResponseGetMetrics, GetMetrics: getMetrics(cm.Metrics())}, true
	case mapi.CallGetLoggingLevel:
		return &mapi.Response{Type: mapi.ResponseGetLoggingLevel, GetLoggingLevel: &mapi.GetLoggingLevel{Level: cm.Level.Get()}}, true
	case mapi.CallSetLoggingLevel:
		sl := c.SetLoggingLevel
		cm.Level.Set(*sl.Level, time.Duration(*sl.Duration.Nanoseconds))
		return nil, true
	}
	return nil, false
}

// getFlags lists flags by name.
func getFlags(flags map[string]string) *mapi.GetFlags {
	out := &mapi.GetFlags{}
	for name, value := range flags {
		out.Flags = append(out.Flags, mapi.Flag{Name: name, Value: value})
	}
	sort.Slice(out.Flags, func(i, j int) bool { return out.Flags[i].Name < out.Flags[j].Name })
	return out
}

// getMetrics lists metrics by name.
func getMetrics(metrics map[string]float64) *mapi.GetMetrics {
	out := &mapi.GetMetrics{}
	for name, value := range metrics {
		out.Metrics = append(out.Metrics, mapi.Metric{Name: name, Value: value})
	}
	sort.Slice(out.Metrics, func(i, j int) bool { return out.Metrics[i].Name < out.Metrics[j].Name })
	return out
}
