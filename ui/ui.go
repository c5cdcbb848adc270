// Package ui is mesh's web UI: hand-written HTML, CSS and JavaScript
// embedded in the binary and served by every server at "/".
//
// The page is static. It reads the cluster through the server it was
// loaded from: the operator API (its SUBSCRIBE event stream keeps the
// lists live), /metrics/snapshot, and the server's /ui/ endpoints (the
// raft roles of the servers and the agents' sandbox files).
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// StaticPrefix is the path under which the assets are served; the
// content hash that follows it makes each build's assets a new URL, so a
// browser may keep them for good.
const StaticPrefix = "/ui/static/"

// assetsPlaceholder is replaced in index.html by the assets' base path.
const assetsPlaceholder = "{{ASSETS}}"

// Handler serves the UI: index.html at "/" (and "/index.html") and the
// assets under StaticPrefix+hash+"/". Any other path is a 404.
type Handler struct {
	index     []byte
	indexETag string
	// base is StaticPrefix + the content hash + "/".
	base   string
	assets map[string]asset
}

type asset struct {
	body        []byte
	contentType string
}

// NewHandler reads the embedded files once.
func NewHandler() *Handler {
	h := &Handler{assets: map[string]asset{}}
	sum := sha256.New()
	files := map[string][]byte{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		files[name] = b
		sum.Write([]byte(name))
		sum.Write(b)
		return nil
	})
	if err != nil {
		// The files are compiled in: failing to read them is a build bug.
		panic("ui: read embedded files: " + err.Error())
	}
	hash := hex.EncodeToString(sum.Sum(nil))[:16]
	h.base = StaticPrefix + hash + "/"
	for name, b := range files {
		if name == "index.html" {
			h.index = bytes.ReplaceAll(b, []byte(assetsPlaceholder), []byte(h.base))
			continue
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.assets[name] = asset{body: b, contentType: ct}
	}
	h.indexETag = `"` + hash + `"`
	return h
}

// AssetBase is the path the current assets are served under.
func (h *Handler) AssetBase() string { return h.base }

// ServeHTTP serves index.html and the assets.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "expecting a 'GET' request, received '"+r.Method+"'", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		// The page names the assets of this build: a browser must ask
		// again each time (a 304 when nothing changed).
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", h.indexETag)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		h.write(w, r, h.index, h.indexETag)
	case strings.HasPrefix(p, h.base):
		a, ok := h.assets[strings.TrimPrefix(p, h.base)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Content-Type", a.contentType)
		h.write(w, r, a.body, h.indexETag)
	case strings.HasPrefix(p, StaticPrefix):
		// An asset of another build: the page that asks is stale.
		http.Error(w, "no such asset in this build of mesh; reload the page", http.StatusNotFound)
	default:
		http.Error(w, "404 page not found: "+p, http.StatusNotFound)
	}
}

// write answers body, or 304 when the client holds it already.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, body []byte, etag string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
