package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/raft"

	"mesh/fsm"
)

// maxSnapshotMetaLine bounds the first line of a snapshot upload, raft's
// metadata (its configuration lists the servers: a few KB).
const maxSnapshotMetaLine = 1 << 20

// restoreSnapshot installs the snapshot a client POSTs: one JSON line of
// raft's snapshot metadata, then the data. The data is streamed to a file
// in the data dir, never held in memory, and refused beyond
// MaxSnapshotRestoreBytes whatever size the metadata claims; it is
// validated from that file before raft installs it, so a bad upload never
// replaces good state. A client that stops sending for HTTPReadTimeout is
// cut off, however long the whole upload takes.
func (s *Server) restoreSnapshot(w http.ResponseWriter, r *http.Request) error {
	in := &progressReader{r: r.Body, rc: http.NewResponseController(w), timeout: s.cfg.HTTPReadTimeout}
	br := bufio.NewReaderSize(in, 64<<10)
	line, err := readMetaLine(br)
	if err != nil {
		return err
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(line, &meta); err != nil || meta.Size <= 0 {
		return httpErrorf(400, "not a mesh snapshot: the first line must be its metadata")
	}
	if limit := s.cfg.MaxSnapshotRestoreBytes; meta.Size > limit {
		return httpErrorf(http.StatusRequestEntityTooLarge, "snapshot of %d bytes exceeds the limit of %d (-max-snapshot-restore-bytes)", meta.Size, limit)
	}
	f, err := os.CreateTemp(s.cfg.DataDir, "restore-*.tmp")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := io.Copy(f, io.LimitReader(br, meta.Size+1))
	switch {
	case err != nil:
		return httpErrorf(400, "snapshot upload failed after %d bytes: %v", n, err)
	case n < meta.Size:
		return httpErrorf(400, "snapshot is truncated: metadata says %d bytes, got %d", meta.Size, n)
	case n > meta.Size:
		return httpErrorf(400, "snapshot is longer than its metadata's %d bytes", meta.Size)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := fsm.ValidateSnapshot(bufio.NewReader(f)); err != nil {
		return httpErrorf(400, "snapshot does not decode: %v", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := s.raft.Restore(&meta, bufio.NewReader(f), s.cfg.ApplyTimeout*6); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The master's view was built from the old state: rebuild it.
	s.logger.Warn("state restored from a snapshot; re-establishing leadership")
	s.establishLeadership(s.runCtx)
	return nil
}

// readMetaLine reads the upload's first line, refusing one longer than
// maxSnapshotMetaLine.
func readMetaLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxSnapshotMetaLine {
			return nil, httpErrorf(400, "not a mesh snapshot: its first line exceeds %d bytes", maxSnapshotMetaLine)
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, httpErrorf(400, "not a mesh snapshot: the first line must be its metadata")
		}
	}
}

// progressReader sets a fresh read deadline before each read: a long
// upload is allowed as long as the client keeps sending.
type progressReader struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	_ = p.rc.SetReadDeadline(time.Now().Add(p.timeout))
	return p.r.Read(b)
}

// progressWriter sets a fresh write deadline before each write: a long
// download is allowed as long as the client keeps taking it.
type progressWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (p *progressWriter) Write(b []byte) (int, error) {
	_ = p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
	return p.w.Write(b)
}
