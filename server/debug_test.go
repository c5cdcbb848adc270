package server_test

import (
	"net/http"
	"testing"

	"mesh/httpdebug"
	"mesh/server"
	"mesh/server/servertest"
)

func TestServer_ProfilerOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		s := servertest.NewServer(t, servertest.Options{Tweak: func(c *server.Config) { c.EnableDebug = enabled }})
		resp, err := http.Get("http://" + s.HTTPAddr() + httpdebug.Prefix + "goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusNotFound
		if enabled {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("enable-debug %v: GET %sgoroutine: %d, want %d", enabled, httpdebug.Prefix, resp.StatusCode, want)
		}
	}
}
