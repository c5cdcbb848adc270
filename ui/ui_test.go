package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func serve(h *Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestHandler_ServesThisBuildsAssets checks that the page names the
// assets of this build, that each is served with its type, revalidated
// or cached as it should be, and that anything else is refused.
func TestHandler_ServesThisBuildsAssets(t *testing.T) {
	h := NewHandler()
	page := serve(h, http.MethodGet, "/", nil)
	body := page.Body.String()
	if page.Code != http.StatusOK || strings.Contains(body, assetsPlaceholder) || !strings.Contains(body, `src="`+h.AssetBase()+`app.js"`) {
		t.Fatalf("GET /: %d, page names the assets as:\n%s", page.Code, body)
	}
	if len(h.assets) == 0 {
		t.Fatal("no asset is embedded")
	}
	for name, a := range h.assets {
		rec := serve(h, http.MethodGet, h.AssetBase()+name, nil)
		if rec.Code != http.StatusOK || rec.Body.String() != string(a.body) || rec.Header().Get("Content-Type") == "application/octet-stream" {
			t.Errorf("GET %s: %d %q", name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if !strings.Contains(body, h.AssetBase()+name) {
			t.Errorf("the page does not name the asset %s", name)
		}
		if rec := serve(h, http.MethodGet, h.AssetBase()+name, map[string]string{"If-None-Match": rec.Header().Get("ETag")}); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes; want 304 and none", name, rec.Code, rec.Body.Len())
		}
	}
	if rec := serve(h, http.MethodHead, "/", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("HEAD /: %d, %d bytes, %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Type"))
	}
	if rec := serve(h, http.MethodGet, StaticPrefix+"0123456789abcdef/app.js", nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "reload the page") {
		t.Errorf("GET an asset of another build: %d %q", rec.Code, rec.Body.String())
	}
	if rec := serve(h, http.MethodGet, h.AssetBase()+"nope.js", nil); rec.Code != http.StatusNotFound {
		t.Errorf("GET an asset that does not exist: %d", rec.Code)
	}
	if rec := serve(h, http.MethodDelete, "/", nil); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("DELETE /: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
}
