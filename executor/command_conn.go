package executor

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"mesh/mesos"
	execapi "mesh/mesos/executor"
	"mesh/mesos/recordio"
	"mesh/tlsutil"
)

// updateTimeout bounds one UPDATE call: the agent answers as soon as it
// has stored the update.
const updateTimeout = 10 * time.Second

// agentClient speaks the executor API to the agent.
type agentClient struct {
	url         string
	http        *http.Client
	frameworkID mesos.FrameworkID
	executorID  mesos.ExecutorID
	token       string
}

func newAgentClient(cfg CommandExecutorConfig) *agentClient {
	scheme, tr := "http", &http.Transport{DisableCompression: true}
	if cfg.AgentCAPEM != "" {
		// The agent serves TLS: only a certificate of its CA with the
		// agent role is its. A PEM that does not parse (checked when the
		// environment was read) leaves no CA to trust: every call fails.
		scheme = "https"
		tr.TLSClientConfig, _ = tlsutil.ClientConfigPEM([]byte(cfg.AgentCAPEM), tlsutil.RoleAgent)
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{RootCAs: x509.NewCertPool()}
		}
	}
	return &agentClient{
		url: scheme + "://" + cfg.AgentEndpoint + "/api/v1/executor",
		// No client timeout: the SUBSCRIBE response is a long-lived
		// stream; calls are bounded by their contexts.
		http:        &http.Client{Transport: tr},
		frameworkID: mesos.FrameworkID{Value: cfg.FrameworkID},
		executorID:  mesos.ExecutorID{Value: cfg.ExecutorID},
		token:       cfg.Token,
	}
}

// statusError is a non-success HTTP answer from the agent.
type statusError struct {
	code int
	body string
}

// Error says what the agent answered.
func (e *statusError) Error() string {
	return fmt.Sprintf("agent answered %d: %s", e.code, e.body)
}

func (c *agentClient) post(ctx context.Context, call *execapi.Call) (*http.Response, error) {
	call.FrameworkID = &c.frameworkID
	call.ExecutorID = &c.executorID
	b, err := json.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("encode %s call: %w", call.Type, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

// subscribe sends SUBSCRIBE and returns a reader of the event stream.
// The caller closes the returned body.
func (c *agentClient) subscribe(ctx context.Context, sub *execapi.Subscribe) (io.ReadCloser, error) {
	resp, err := c.post(ctx, &execapi.Call{Type: execapi.CallSubscribe, Subscribe: sub})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, readStatusError(resp)
	}
	return resp.Body, nil
}

// update sends one status update and waits for the agent's 202.
func (c *agentClient) update(ctx context.Context, status mesos.TaskStatus) error {
	ctx, cancel := context.WithTimeout(ctx, updateTimeout)
	defer cancel()
	resp, err := c.post(ctx, &execapi.Call{Type: execapi.CallUpdate, Update: &execapi.Update{Status: &status}})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return readStatusError(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return nil
}

func readStatusError(resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return &statusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
}

// readEvents decodes the stream's records and hands each event to emit
// until the stream ends; it returns why it ended.
func readEvents(body io.Reader, emit func(*execapi.Event) bool) error {
	r := recordio.NewReader(body)
	for {
		rec, err := r.ReadRecord()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("agent closed the event stream")
			}
			return fmt.Errorf("read event stream: %w", err)
		}
		var ev execapi.Event
		if err := json.Unmarshal(rec, &ev); err != nil {
			return fmt.Errorf("decode event: %w", err)
		}
		if !emit(&ev) {
			return nil
		}
	}
}
