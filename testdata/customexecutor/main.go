// Command customexecutor is a custom executor for mesh's tests, written
// as a third-party executor would be: it speaks the v1 Executor HTTP API
// in protobuf, using only the Mesos v1 protobuf messages, the RecordIO
// framing and the environment the agent gives executors.
//
// Each task it is given runs until it is killed (TASK_RUNNING, then
// TASK_KILLED). It tells the framework, by a MESSAGE, of each task it
// starts (with its pid and the Mesos variables it was given), and answers
// each framework MESSAGE with "echo: " and the message. SHUTDOWN kills
// its tasks and exits.
//
// CUSTOM_EXECUTOR_MODE (from the executor's CommandInfo.environment)
// makes it misbehave: "exit" exits at once with status 3, "silent" never
// subscribes, "stubborn" ignores SHUTDOWN.
package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	v1pb "mesh/mesos/v1pb"
	"mesh/mesos/v1pb/executorpb"
)

// envNames are the variables reported to the framework.
var envNames = []string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT", "MESOS_SANDBOX",
	"MESOS_DIRECTORY", "MESOS_CHECKPOINT", "MESOS_AGENT_ID", "MESOS_SLAVE_ID", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
	"MESOS_HTTP_COMMAND_EXECUTOR", "CUSTOM_EXECUTOR_GREETING"}

const protobuf = "application/x-protobuf"

type executor struct {
	url, token string
	fid, eid   string
	mu         sync.Mutex
	tasks      map[string]bool
}

func main() {
	switch os.Getenv("CUSTOM_EXECUTOR_MODE") {
	case "exit":
		fmt.Fprintln(os.Stderr, "exiting at once, as asked")
		os.Exit(3)
	case "silent":
		fmt.Fprintln(os.Stderr, "never subscribing, as asked")
		select {}
	}
	for _, name := range []string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT"} {
		if os.Getenv(name) == "" {
			fmt.Fprintln(os.Stderr, "missing", name)
			os.Exit(2)
		}
	}
	e := &executor{url: "http://" + os.Getenv("MESOS_AGENT_ENDPOINT") + "/api/v1/executor",
		token: os.Getenv("MESOS_EXECUTOR_AUTHENTICATION_TOKEN"),
		fid:   os.Getenv("MESOS_FRAMEWORK_ID"), eid: os.Getenv("MESOS_EXECUTOR_ID"), tasks: map[string]bool{}}
	if err := e.run(); err != nil {
		fmt.Fprintln(os.Stderr, "executor:", err)
		os.Exit(1)
	}
}

func (e *executor) call(t executorpb.Call_Type, fill func(*executorpb.Call)) *executorpb.Call {
	c := &executorpb.Call{Type: t.Enum(), FrameworkId: &v1pb.FrameworkID{Value: proto.String(e.fid)},
		ExecutorId: &v1pb.ExecutorID{Value: proto.String(e.eid)}}
	if fill != nil {
		fill(c)
	}
	return c
}

func (e *executor) post(c *executorpb.Call) (*http.Response, error) {
	body, err := proto.Marshal(c)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", protobuf)
	req.Header.Set("Accept", protobuf)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	return http.DefaultClient.Do(req)
}

// send posts a call that must be answered 202.
func (e *executor) send(c *executorpb.Call) {
	resp, err := e.post(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "call", c.GetType(), "failed:", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		fmt.Fprintln(os.Stderr, "call", c.GetType(), "answered", resp.StatusCode, string(b))
	}
}

// run serves the executor's subscriptions. When its stream ends without
// a SHUTDOWN (the agent restarted), it subscribes again, as an executor
// of a checkpointing framework does, for up to two minutes.
func (e *executor) run() error {
	lost := time.Time{}
	for {
		done, err := e.session()
		if done {
			return nil
		}
		if lost.IsZero() {
			lost = time.Now()
		}
		if time.Since(lost) > 2*time.Minute {
			return err
		}
		fmt.Fprintln(os.Stderr, "subscription lost, subscribing again:", err)
		time.Sleep(500 * time.Millisecond)
	}
}

// session subscribes and handles events until the stream ends (done
// false) or the executor is told to shut down (done true).
func (e *executor) session() (done bool, err error) {
	resp, err := e.post(e.call(executorpb.Call_SUBSCRIBE, func(c *executorpb.Call) {
		c.Subscribe = &executorpb.Call_Subscribe{}
	}))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != protobuf {
		b, _ := io.ReadAll(resp.Body)
		return false, fmt.Errorf("subscribe answered %d (%s): %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	rd := bufio.NewReader(resp.Body)
	for {
		rec, err := readRecord(rd)
		if err != nil {
			return false, fmt.Errorf("event stream: %w", err)
		}
		var ev executorpb.Event
		if err := proto.Unmarshal(rec, &ev); err != nil {
			return false, fmt.Errorf("decode event: %w", err)
		}
		if done := e.handle(&ev); done {
			return true, nil
		}
	}
}

// readRecord reads one RecordIO record: its length in decimal, a line
// feed, then the bytes.
func readRecord(rd *bufio.Reader) ([]byte, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(line), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("record length %q: %w", line, err)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(rd, buf)
	return buf, err
}

func (e *executor) handle(ev *executorpb.Event) (done bool) {
	switch ev.GetType() {
	case executorpb.Event_LAUNCH:
		t := ev.GetLaunch().GetTask()
		id := t.GetTaskId().GetValue()
		e.mu.Lock()
		e.tasks[id] = true
		e.mu.Unlock()
		e.update(id, v1pb.TaskState_TASK_RUNNING)
		e.message(e.launched(id))
	case executorpb.Event_KILL:
		id := ev.GetKill().GetTaskId().GetValue()
		e.mu.Lock()
		live := e.tasks[id]
		delete(e.tasks, id)
		e.mu.Unlock()
		if live {
			e.update(id, v1pb.TaskState_TASK_KILLED)
		}
	case executorpb.Event_MESSAGE:
		e.message(append([]byte("echo: "), ev.GetMessage().GetData()...))
	case executorpb.Event_SHUTDOWN:
		if os.Getenv("CUSTOM_EXECUTOR_MODE") == "stubborn" {
			fmt.Fprintln(os.Stderr, "ignoring SHUTDOWN, as asked")
			return false
		}
		e.mu.Lock()
		ids := make([]string, 0, len(e.tasks))
		for id := range e.tasks {
			ids = append(ids, id)
		}
		e.tasks = map[string]bool{}
		e.mu.Unlock()
		for _, id := range ids {
			e.update(id, v1pb.TaskState_TASK_KILLED)
		}
		// Let the last updates be acknowledged.
		time.Sleep(200 * time.Millisecond)
		return true
	case executorpb.Event_ERROR:
		fmt.Fprintln(os.Stderr, "error event:", ev.GetError().GetMessage())
	}
	return false
}

// launched is the MESSAGE telling the framework a task started.
func (e *executor) launched(id string) []byte {
	env := map[string]string{}
	for _, name := range envNames {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"event": "launched", "task_id": id, "pid": os.Getpid(), "env": env})
	return b
}

func (e *executor) message(data []byte) {
	e.send(e.call(executorpb.Call_MESSAGE, func(c *executorpb.Call) {
		c.Message = &executorpb.Call_Message{Data: data}
	}))
}

func (e *executor) update(id string, state v1pb.TaskState) {
	uuid := make([]byte, 16)
	rand.Read(uuid)
	e.send(e.call(executorpb.Call_UPDATE, func(c *executorpb.Call) {
		c.Update = &executorpb.Call_Update{Status: &v1pb.TaskStatus{
			TaskId: &v1pb.TaskID{Value: proto.String(id)}, State: state.Enum(),
			Source: v1pb.TaskStatus_SOURCE_EXECUTOR.Enum(), Uuid: uuid,
			ExecutorId: &v1pb.ExecutorID{Value: proto.String(e.eid)},
		}}
	}))
}
