package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"mesh/server"
	"mesh/tlsutil"
)

func operatorCommand() *cli.Command {
	addr := &cli.StringFlag{Name: "address", Value: "127.0.0.1:5050", Usage: "HTTP address of any server"}
	return &cli.Command{
		Name:  "operator",
		Usage: "operate a running cluster: raft membership and snapshots",
		Flags: append(append([]cli.Flag{addr}, tlsFlags()...), credentialFlags()...),
		Subcommands: []*cli.Command{
			{
				Name:  "raft",
				Usage: "raft membership",
				Subcommands: []*cli.Command{
					{
						Name:  "list-peers",
						Usage: "list the servers in the raft configuration",
						Action: func(c *cli.Context) error {
							var peers []server.RaftPeer
							if err := operatorGet(c, "/internal/v1/raft/peers", &peers); err != nil {
								return err
							}
							tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
							fmt.Fprintln(tw, "ID\tRAFT ADDRESS\tHTTP ADDRESS\tSTATE\tSUFFRAGE")
							for _, p := range peers {
								state := "follower"
								if p.Leader {
									state = "leader"
								}
								fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Address, p.HTTPAddr, state, p.Suffrage)
							}
							return tw.Flush()
						},
					},
					{
						Name:      "remove-peer",
						Usage:     "remove a server from the raft configuration",
						ArgsUsage: "ID",
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return fmt.Errorf("usage: mesh operator raft remove-peer ID")
							}
							body, _ := json.Marshal(map[string]string{"id": c.Args().First()})
							if _, err := operatorDo(c, http.MethodPost, "/internal/v1/raft/remove-peer", "application/json", bytes.NewReader(body)); err != nil {
								return err
							}
							fmt.Printf("removed peer %s\n", c.Args().First())
							return nil
						},
					},
				},
			},
			{
				Name:  "snapshot",
				Usage: "save or restore the replicated state",
				Subcommands: []*cli.Command{
					{
						Name:      "save",
						Usage:     "write a snapshot of the leader's state to FILE",
						ArgsUsage: "FILE",
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return fmt.Errorf("usage: mesh operator snapshot save FILE")
							}
							resp, err := operatorDo(c, http.MethodGet, "/internal/v1/snapshot", "", nil)
							if err != nil {
								return err
							}
							defer resp.Body.Close()
							tmp := c.Args().First() + ".tmp"
							f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
							if err != nil {
								return err
							}
							n, err := io.Copy(f, resp.Body)
							if err == nil {
								err = f.Sync()
							}
							if cerr := f.Close(); err == nil {
								err = cerr
							}
							if err != nil {
								os.Remove(tmp)
								return fmt.Errorf("write snapshot: %w", err)
							}
							if err := os.Rename(tmp, c.Args().First()); err != nil {
								return err
							}
							fmt.Printf("saved snapshot to %s (%d bytes)\n", c.Args().First(), n)
							return nil
						},
					},
					{
						Name:      "restore",
						Usage:     "replace the cluster's state with the snapshot in FILE",
						ArgsUsage: "FILE",
						Action: func(c *cli.Context) error {
							if c.NArg() != 1 {
								return fmt.Errorf("usage: mesh operator snapshot restore FILE")
							}
							f, err := os.Open(c.Args().First())
							if err != nil {
								return err
							}
							defer f.Close()
							resp, err := operatorDo(c, http.MethodPost, "/internal/v1/snapshot", "application/octet-stream", bufio.NewReader(f))
							if err != nil {
								return err
							}
							resp.Body.Close()
							fmt.Printf("restored snapshot from %s\n", c.Args().First())
							return nil
						},
					},
				},
			},
		},
	}
}

// operatorClient follows redirects to the leader, keeping the method and
// body (307).
var operatorClient = &http.Client{Timeout: 5 * time.Minute}

// operatorDo sends a request and turns any non-2xx answer into an error
// that carries the server's message.
func operatorDo(c *cli.Context, method, path, contentType string, body io.Reader) (*http.Response, error) {
	t, err := loadTLS(c)
	if err != nil {
		return nil, err
	}
	hc := operatorClient
	if t != nil {
		hc = &http.Client{Timeout: operatorClient.Timeout, Transport: t.HTTPTransport(tlsutil.RoleServer)}
	}
	authz, err := clientAuthorization(c)
	if err != nil {
		return nil, err
	}
	if authz != "" {
		hc = &http.Client{Timeout: hc.Timeout, Transport: authTransport(hc.Transport, authz)}
	}
	var buf []byte
	if body != nil {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		buf = b
	}
	req, err := http.NewRequest(method, t.Scheme()+"://"+c.String("address")+path, bytes.NewReader(buf))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %s: %s%s", method, path, resp.Status, bytes.TrimSpace(msg), authHint(resp.StatusCode))
	}
	return resp, nil
}

func operatorGet(c *cli.Context, path string, v any) error {
	resp, err := operatorDo(c, http.MethodGet, path, "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
