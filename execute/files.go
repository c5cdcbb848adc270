package execute

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// readChunk is how much one /files/read request asks for.
const readChunk = 1 << 20

// maxOutput bounds how much of one file is fetched, so a server that
// ignores offsets cannot keep us reading forever.
const maxOutput = 64 << 20

// errNoFile means the agent has no such file (the task never ran there).
var errNoFile = errors.New("no such file")

// filesRead is the body of the agent's /files/read answer.
type filesRead struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

// sandboxPath returns the path of a file in the latest run of an
// executor's sandbox, in the agent's virtual file namespace.
func sandboxPath(frameworkID, executorID, file string) string {
	return "/frameworks/" + frameworkID + "/executors/" + executorID + "/runs/latest/" + file
}

// SandboxPath is sandboxPath for other packages: the path of file in the
// latest run of an executor's sandbox (the command executor of a task is
// named after the task).
func SandboxPath(frameworkID, executorID, file string) string {
	return sandboxPath(frameworkID, executorID, file)
}

// ErrNoFile means the agent has no such file.
var ErrNoFile = errNoFile

// ReadAt fetches at most length bytes of path from offset through the
// agent's /files/read endpoint; no data means nothing more was written
// yet. agent is the agent's base URL (http://host:port).
func ReadAt(ctx context.Context, hc *http.Client, agent, path string, offset int64, length int) ([]byte, error) {
	q := url.Values{}
	q.Set("path", path)
	q.Set("offset", strconv.FormatInt(offset, 10))
	q.Set("length", strconv.Itoa(length))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, agent+"/files/read?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("build files request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, agent, err)
	}
	var fr filesRead
	switch resp.StatusCode {
	case http.StatusOK:
		err = json.NewDecoder(io.LimitReader(resp.Body, 4*int64(length)+4096)).Decode(&fr)
	case http.StatusNotFound:
		err = errNoFile
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		err = fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, agent, err)
	}
	if fr.Data != "" && fr.Offset != offset {
		return nil, fmt.Errorf("read %s from %s: asked for offset %d, got %d", path, agent, offset, fr.Offset)
	}
	return []byte(fr.Data), nil
}

// readFile fetches a whole file from an agent's /files/read endpoint,
// reading until the agent returns no more data.
func readFile(ctx context.Context, hc *http.Client, agent, path string) ([]byte, error) {
	var buf bytes.Buffer
	for offset := int64(0); ; {
		data, err := ReadAt(ctx, hc, agent, path, offset, readChunk)
		if err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return buf.Bytes(), nil
		}
		buf.Write(data)
		offset += int64(len(data))
		if buf.Len() > maxOutput {
			return buf.Bytes(), nil
		}
	}
}
