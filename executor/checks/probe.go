package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
)

// CommandFunc builds the process of a COMMAND check from its CommandInfo.
// The checker starts it in a process group of its own, with stdin from
// /dev/null and its output to the executor's stderr (unless the returned
// command sets them), and kills the group when the check times out.
type CommandFunc func(c *mesos.CommandInfo) (*exec.Cmd, error)

// DefaultCommand runs the command as Mesos' checker does: a shell command
// through /bin/sh -c, any other with its arguments as its full argv, in
// the executor's working directory and environment plus the command's
// variables.
func DefaultCommand(c *mesos.CommandInfo) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	if c.IsShell() {
		cmd = exec.Command("/bin/sh", "-c", c.Value)
	} else {
		path, err := exec.LookPath(c.Value)
		if err != nil {
			return nil, err
		}
		cmd = &exec.Cmd{Path: path, Args: c.Arguments}
		if len(cmd.Args) == 0 {
			cmd.Args = []string{c.Value}
		}
	}
	cmd.Env = os.Environ()
	if c.Environment != nil {
		for _, v := range c.Environment.Variables {
			val, err := v.Resolve()
			if err != nil {
				return nil, err
			}
			cmd.Env = append(cmd.Env, v.Name+"="+val)
		}
	}
	return cmd, nil
}

// realProbe runs checks for real: COMMAND through build, HTTP and TCP
// against the loopback address.
func realProbe(build CommandFunc, log hclog.Logger) probeFunc {
	return func(ctx context.Context, c *mesos.CheckInfo, t target) (mesos.CheckStatusInfo, error) {
		switch c.Type {
		case mesos.CheckTypeCommand:
			return commandProbe(ctx, build, &c.Command.Command)
		case mesos.CheckTypeHTTP:
			path := ""
			if c.HTTP.Path != nil {
				path = *c.HTTP.Path
			}
			return httpProbe(ctx, t, c.HTTP.Port, path)
		case mesos.CheckTypeTCP:
			return tcpProbe(ctx, t, c.TCP.Port, log)
		}
		return mesos.CheckStatusInfo{}, fmt.Errorf("unknown check type %q", c.Type)
	}
}

// commandProbe runs the command and returns its exit code. A command that
// could not be started, was killed by a signal, or ran out of time has no
// result.
func commandProbe(ctx context.Context, build CommandFunc, info *mesos.CommandInfo) (mesos.CheckStatusInfo, error) {
	var none mesos.CheckStatusInfo
	cmd, err := build(info)
	if err != nil {
		return none, fmt.Errorf("cannot build the check's command: %w", err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stderr
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return none, fmt.Errorf("cannot start the check's command: %w", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		// The whole group: a shell's children go too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
		return none, fmt.Errorf("command stopped: %w", ctx.Err())
	}
	ps := cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return none, fmt.Errorf("command terminated with signal %s", ws.Signal())
	}
	if err != nil && ps == nil {
		return none, err
	}
	code := int32(ps.ExitCode())
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeCommand, Command: &mesos.CommandCheckStatus{ExitCode: &code}}, nil
}

// loopback is the address HTTP and TCP checks connect to.
func loopback(t target, port uint32) string {
	host := "127.0.0.1"
	if t.ipv6 {
		host = "::1"
	}
	return net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))
}

// httpProbe sends GET scheme://127.0.0.1:port/path, following redirects,
// without verifying a server certificate, and returns the status code. A
// request that gets no response has no result.
func httpProbe(ctx context.Context, t target, port uint32, path string) (mesos.CheckStatusInfo, error) {
	var none mesos.CheckStatusInfo
	url := t.scheme + "://" + loopback(t, port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return none, err
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		// As curl -k: a task's certificate is rarely one the executor
		// could verify.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see above
	}}
	resp, err := client.Do(req)
	if err != nil {
		return none, fmt.Errorf("GET %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	code := uint32(resp.StatusCode)
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeHTTP, HTTP: &mesos.HTTPCheckStatus{StatusCode: &code}}, nil
}

// tcpProbe says whether a TCP connection to 127.0.0.1:port can be made.
// Every failure to connect is a result (false), as Mesos treats it; only
// running out of time gives none.
func tcpProbe(ctx context.Context, t target, port uint32, log hclog.Logger) (mesos.CheckStatusInfo, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", loopback(t, port))
	ok := err == nil
	if ok {
		conn.Close()
	} else if ctx.Err() != nil {
		return mesos.CheckStatusInfo{}, fmt.Errorf("connect: %w", errors.Join(err, ctx.Err()))
	} else {
		log.Debug("tcp check could not connect", "error", err)
	}
	return mesos.CheckStatusInfo{Type: mesos.CheckTypeTCP, TCP: &mesos.TCPCheckStatus{Succeeded: &ok}}, nil
}
