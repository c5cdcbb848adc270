package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"mesh/mesos"
	"mesh/mesos/agentapi"
)

const (
	// updatesFile is the name of a task's checkpoint file.
	updatesFile = "updates"
)

// streamKey identifies a task's update stream.
type streamKey struct{ fid, tid string }

// updateRecord is one line of a task's checkpoint file: an update the
// agent accepted, or the acknowledgement of the oldest pending one.
type updateRecord struct {
	Type   string            `json:"type"` // "update" or "ack"
	Status *mesos.TaskStatus `json:"status,omitempty"`
	UUID   mesos.Bytes       `json:"uuid,omitempty"`
}

const (
	recordUpdate = "update"
	recordAck    = "ack"
)

// updateStream is the ordered, checkpointed queue of one task's updates.
// pending[0] is the head: the only one that is sent to the server.
type updateStream struct {
	key streamKey
	dir string
	// wmu serializes the stream's writes, each one until its record is
	// synced. It is taken before statusUpdates.mu: a record is written
	// under both (a write to the page cache), synced under wmu alone, and
	// only then does the update count as accepted.
	wmu  sync.Mutex
	file *os.File
	// dirUnsynced is set while the creation of the stream's file is not
	// synced yet. Guarded by wmu.
	dirUnsynced bool
	pending     []mesos.TaskStatus
	seen        map[string]bool // uuids ever accepted, pending or acknowledged
	// executor is the executor id the newest update names, "" if none.
	executor string
	latest   mesos.TaskState // state of the newest accepted update

	// Resending of the head.
	nextAttempt time.Time
	interval    time.Duration
}

// ackedUpdate tells the agent that the server acknowledged an update.
type ackedUpdate struct {
	FrameworkID string
	Status      mesos.TaskStatus
}

// sendFunc delivers a batch of updates to the server; nil means the
// server committed them, and resendAfter is how long the server asked
// the agent not to send them again unacknowledged (0: nothing asked).
type sendFunc func(ctx context.Context, updates []agentapi.StatusUpdate) (resendAfter time.Duration, err error)

// statusUpdates is the agent's status update manager. Every update
// (from an executor or made by the agent) is written to the task's
// checkpoint file and synced before it is acknowledged to its sender; the
// head of each task's queue is sent to the server until the framework's
// acknowledgement comes back, with a retry interval that doubles; then the
// next one goes. A task's stream and file are removed once its terminal
// update is acknowledged.
type statusUpdates struct {
	dir          string // <work-dir>/meta/frameworks
	log          hclog.Logger
	initialRetry time.Duration
	send         sendFunc
	agentID      func() string
	onAck        func(ackedUpdate)
	// beforeSync, when set (by tests), is called before a checkpoint
	// file is synced, with the file's path; it may block.
	beforeSync func(path string)
	// accepted, when set (before Run), is told of each update checkpointed
	// for the first time, with the task's state before it; it is called
	// under mu and must be quick.
	accepted func(prev mesos.TaskState, st mesos.TaskStatus)

	kick chan struct{}

	mu          sync.Mutex
	streams     map[streamKey]*updateStream
	registered  bool
	failBackoff time.Duration
}

func newStatusUpdates(dir string, log hclog.Logger, retry time.Duration, send sendFunc, agentID func() string, onAck func(ackedUpdate)) *statusUpdates {
	if retry <= 0 {
		retry = agentapi.StatusRetryInterval
	}
	return &statusUpdates{
		dir:          dir,
		log:          log,
		initialRetry: retry,
		send:         send,
		agentID:      agentID,
		onAck:        onAck,
		kick:         make(chan struct{}, 1),
		streams:      map[streamKey]*updateStream{},
	}
}

func (m *statusUpdates) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *statusUpdates) streamDir(k streamKey) string {
	return filepath.Join(m.dir, k.fid, "tasks", k.tid)
}

// open creates (or opens for appending) a stream's checkpoint file.
func (m *statusUpdates) open(k streamKey) (*updateStream, error) {
	dir := m.streamDir(k)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create status update checkpoint: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, updatesFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open status update checkpoint: %w", err)
	}
	return &updateStream{key: k, dir: dir, file: f, dirUnsynced: true, seen: map[string]bool{}, interval: m.initialRetry}, nil
}

// writeRecord writes one record, not synced yet. Caller holds wmu and
// m.mu.
func (s *updateStream) writeRecord(r updateRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := s.file.Write(b); err != nil {
		return fmt.Errorf("write status update checkpoint: %w", err)
	}
	return nil
}

// sync makes stream s's records durable (and its file's creation).
// Caller holds s.wmu, not m.mu.
func (m *statusUpdates) sync(s *updateStream) error {
	if m.beforeSync != nil {
		m.beforeSync(filepath.Join(s.dir, updatesFile))
	}
	if s.dirUnsynced {
		syncDir(s.dir)
		s.dirUnsynced = false
	}
	if err := s.file.Sync(); err != nil {
		return fmt.Errorf("sync status update checkpoint: %w", err)
	}
	return nil
}

// streamOf returns task k's stream, made if there is none.
func (m *statusUpdates) streamOf(k streamKey) (*updateStream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.streams[k]; s != nil {
		return s, nil
	}
	s, err := m.open(k)
	if err != nil {
		return nil, err
	}
	m.streams[k] = s
	return s, nil
}

// removed reports whether stream s was removed.
func (m *statusUpdates) removed(s *updateStream) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams[s.key] != s
}

// maxStreamRetries bounds how often Update starts again on a task's new
// stream when the one it wrote to was removed meanwhile.
const maxStreamRetries = 3

// Update checkpoints a status update and queues it for the server. It
// reports duplicate (and does nothing) for an update whose uuid the stream
// already accepted. Once Update returns nil the update survives a crash.
// The record is synced with the manager's lock released: updates of
// other tasks, and readers, do not wait for this one's fsync.
func (m *statusUpdates) Update(fid string, st mesos.TaskStatus) (duplicate bool, err error) {
	if len(st.UUID) == 0 {
		return false, errors.New("status update without a uuid")
	}
	k := streamKey{fid: fid, tid: st.TaskID.Value}
	for range maxStreamRetries {
		s, err := m.streamOf(k)
		if err != nil {
			return false, err
		}
		dup, err := m.updateOn(s, st)
		if !errors.Is(err, ErrStreamGone) {
			return dup, err
		}
	}
	return false, fmt.Errorf("status update of task %s: %w", k.tid, ErrStreamGone)
}

// updateOn is Update on stream s; ErrStreamGone says s was removed before
// the update was accepted.
func (m *statusUpdates) updateOn(s *updateStream, st mesos.TaskStatus) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	m.mu.Lock()
	switch {
	case m.streams[s.key] != s:
		m.mu.Unlock()
		return false, ErrStreamGone
	case s.seen[string(st.UUID)]:
		m.mu.Unlock()
		return true, nil
	}
	err := s.writeRecord(updateRecord{Type: recordUpdate, Status: &st})
	m.mu.Unlock()
	if err == nil {
		err = m.sync(s)
	}
	if err != nil {
		if m.removed(s) {
			// Its file was closed under the write.
			return false, ErrStreamGone
		}
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.streams[s.key] != s {
		return false, ErrStreamGone
	}
	s.seen[string(st.UUID)] = true
	if m.accepted != nil {
		m.accepted(s.latest, st)
	}
	s.note(st)
	s.pending = append(s.pending, st)
	if len(s.pending) == 1 {
		s.resetResend(m.initialRetry)
		m.poke()
	}
	m.log.Debug("status update checkpointed", "framework_id", s.key.fid, "task_id", s.key.tid, "state", st.State, "uuid", uuidString(st.UUID), "queued", len(s.pending))
	return false, nil
}

// note records an accepted update as the stream's newest.
func (s *updateStream) note(st mesos.TaskStatus) {
	s.latest = st.State
	if st.ExecutorID != nil {
		s.executor = st.ExecutorID.Value
	}
}

func (s *updateStream) resetResend(initial time.Duration) {
	s.nextAttempt = time.Time{}
	s.interval = initial
}

// Acknowledge handles the framework's acknowledgement of a task's head
// update. An acknowledgement of anything but the head is stale and
// ignored.
func (m *statusUpdates) Acknowledge(fid, tid string, id []byte) (bool, error) {
	k := streamKey{fid: fid, tid: tid}
	m.mu.Lock()
	s := m.streams[k]
	m.mu.Unlock()
	if s == nil {
		m.log.Debug("ignoring acknowledgement of an update that is not outstanding", "framework_id", fid, "task_id", tid, "uuid", uuidString(id))
		return false, nil
	}
	head, ok, err := m.acknowledgeOn(s, id)
	if err != nil || !ok {
		return false, err
	}
	m.log.Debug("status update acknowledged", "framework_id", fid, "task_id", tid, "state", head.State, "uuid", uuidString(id))
	if m.onAck != nil {
		m.onAck(ackedUpdate{FrameworkID: fid, Status: head})
	}
	if head.State.IsTerminal() {
		// The task is over and the framework knows it: forget it, but
		// only after onAck has dropped it from its run's checkpoint. A
		// crash in between leaves a stream ending in the acknowledgement
		// of a terminal update, which Recover removes; the other order
		// would leave a run checkpoint naming a task with no update, the
		// very state of a task that was never launched.
		m.mu.Lock()
		if m.streams[k] == s && len(s.pending) == 0 {
			m.removeStream(s)
		}
		m.mu.Unlock()
	}
	return true, nil
}

// acknowledgeOn records the acknowledgement of stream s's head, synced
// under s.wmu alone, and pops it; ok is false when id is not the head.
func (m *statusUpdates) acknowledgeOn(s *updateStream, id []byte) (head mesos.TaskStatus, ok bool, err error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	outstanding := func() bool {
		return m.streams[s.key] == s && len(s.pending) > 0 && bytes.Equal(s.pending[0].UUID, id)
	}
	m.mu.Lock()
	ok = outstanding()
	m.mu.Unlock()
	if !ok {
		m.log.Debug("ignoring acknowledgement of an update that is not outstanding", "framework_id", s.key.fid, "task_id", s.key.tid, "uuid", uuidString(id))
		return head, false, nil
	}
	m.mu.Lock()
	if !outstanding() {
		m.mu.Unlock()
		return head, false, nil
	}
	err = s.writeRecord(updateRecord{Type: recordAck, UUID: id})
	m.mu.Unlock()
	if err == nil {
		err = m.sync(s)
	}
	if err != nil {
		if m.removed(s) {
			return head, false, nil
		}
		return head, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !outstanding() {
		// Removed meanwhile: its framework is gone.
		return head, false, nil
	}
	head = s.pending[0]
	s.pending = s.pending[1:]
	if len(s.pending) > 0 {
		s.resetResend(m.initialRetry)
		m.poke()
	}
	return head, true, nil
}

// TasksOfExecutor lists the tasks of framework fid whose newest update
// names executor eid and is not terminal.
func (m *statusUpdates) TasksOfExecutor(fid, eid string) []mesos.TaskID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mesos.TaskID
	for k, s := range m.streams {
		if k.fid == fid && s.executor == eid && !s.latest.IsTerminal() {
			out = append(out, mesos.TaskID{Value: k.tid})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// removeStream closes and deletes a stream's checkpoint. Caller holds mu.
func (m *statusUpdates) removeStream(s *updateStream) {
	s.file.Close()
	if err := os.RemoveAll(s.dir); err != nil {
		m.log.Warn("cannot remove status update checkpoint", "path", s.dir, "error", err)
	}
	delete(m.streams, s.key)
}

// SetRegistered tells the manager whether the agent is registered. On
// (re-)registration every head is resent at once with a fresh interval.
func (m *statusUpdates) SetRegistered(on bool) {
	m.mu.Lock()
	m.registered = on
	if on {
		m.failBackoff = 0
		for _, s := range m.streams {
			s.resetResend(m.initialRetry)
		}
	}
	m.mu.Unlock()
	if on {
		m.poke()
	}
}

// Latest returns the state of a task's newest update, if its stream
// exists.
func (m *statusUpdates) Latest(fid, tid string) (mesos.TaskState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[streamKey{fid, tid}]
	if s == nil {
		return "", false
	}
	return s.latest, true
}

// IsDuplicate reports whether a task's stream already accepted uuid id.
func (m *statusUpdates) IsDuplicate(fid, tid string, id []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[streamKey{fid, tid}]
	if s == nil {
		return false, ErrStreamGone
	}
	return s.seen[string(id)], nil
}

// Tasks lists every task with a stream and its latest state.
func (m *statusUpdates) Tasks() []agentapi.Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]agentapi.Task, 0, len(m.streams))
	for k, s := range m.streams {
		out = append(out, agentapi.Task{FrameworkID: mesos.FrameworkID{Value: k.fid}, TaskID: mesos.TaskID{Value: k.tid}, State: s.latest})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].FrameworkID != out[j].FrameworkID {
			return out[i].FrameworkID.Value < out[j].FrameworkID.Value
		}
		return out[i].TaskID.Value < out[j].TaskID.Value
	})
	return out
}

// Pending returns how many updates await acknowledgement.
func (m *statusUpdates) Pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.streams {
		n += len(s.pending)
	}
	return n
}

// CleanupFramework forgets every update of a framework that is gone: no
// acknowledgement will ever come for them.
func (m *statusUpdates) CleanupFramework(fid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, s := range m.streams {
		if k.fid == fid {
			n += len(s.pending)
			m.removeStream(s)
		}
	}
	if err := os.RemoveAll(filepath.Join(m.dir, fid, "tasks")); err != nil {
		m.log.Warn("cannot remove framework's status update checkpoints", "framework_id", fid, "error", err)
	}
	if n > 0 {
		m.log.Info("dropped status updates of a removed framework", "framework_id", fid, "updates", n)
	}
}

// Close closes every checkpoint file.
func (m *statusUpdates) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.streams {
		s.file.Close()
	}
}

// Run sends due heads to the server until ctx ends.
func (m *statusUpdates) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		batch, wait := m.due(time.Now())
		if len(batch) > 0 {
			resendAfter, err := m.send(ctx, batch)
			if ctx.Err() != nil {
				return
			}
			m.sent(batch, resendAfter, err)
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-m.kick:
		case <-timer.C:
		}
	}
}

// due collects the heads whose time has come and says how long until the
// next one will be.
func (m *statusUpdates) due(now time.Time) ([]agentapi.StatusUpdate, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	wait := time.Hour
	if !m.registered {
		return nil, wait
	}
	aid := m.agentID()
	var batch []agentapi.StatusUpdate
	for k, s := range m.streams {
		if len(s.pending) == 0 {
			continue
		}
		if d := s.nextAttempt.Sub(now); d > 0 {
			wait = min(wait, d)
			continue
		}
		if len(batch) == agentapi.MaxUpdatesPerCall {
			wait = 0
			break
		}
		st := s.pending[0]
		if st.AgentID == nil && aid != "" {
			st.AgentID = &mesos.AgentID{Value: aid}
		}
		batch = append(batch, agentapi.StatusUpdate{FrameworkID: mesos.FrameworkID{Value: k.fid}, Status: st})
	}
	return batch, wait
}

// sent records the outcome of sending batch. Delivered heads wait for
// their acknowledgement until their interval passes (or longer, when the
// server said it would not pass a resend on sooner: resendAfter), then go
// again with the interval doubled; a failed call is retried sooner.
func (m *statusUpdates) sent(batch []agentapi.StatusUpdate, resendAfter time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if err != nil {
		m.failBackoff = min(max(2*m.failBackoff, agentapi.MinSendFailureBackoff), m.initialRetry)
		if !errors.Is(err, ErrNotRegistered) {
			m.log.Warn("cannot send status updates; will retry", "updates", len(batch), "retry_in", m.failBackoff, "error", err)
		}
	} else {
		m.failBackoff = 0
	}
	for _, u := range batch {
		s := m.streams[streamKey{u.FrameworkID.Value, u.Status.TaskID.Value}]
		if s == nil || len(s.pending) == 0 || !bytes.Equal(s.pending[0].UUID, u.Status.UUID) {
			continue
		}
		if err != nil {
			s.nextAttempt = now.Add(m.failBackoff)
			continue
		}
		wait := agentapi.ResendWait(s.interval, resendAfter)
		m.log.Debug("status update sent", "framework_id", u.FrameworkID.Value, "task_id", u.Status.TaskID.Value, "state", u.Status.State, "uuid", uuidString(u.Status.UUID), "resend_in", wait)
		s.nextAttempt = now.Add(wait)
		s.interval = min(2*s.interval, agentapi.MaxStatusRetryInterval)
	}
}

// Recover reloads the checkpointed streams (on agent start). A torn last
// record, left by a crash in the middle of a write, is cut off.
func (m *statusUpdates) Recover() error {
	fws, err := os.ReadDir(m.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read status update checkpoints: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fw := range fws {
		tasks, err := os.ReadDir(filepath.Join(m.dir, fw.Name(), "tasks"))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			k := streamKey{fid: fw.Name(), tid: t.Name()}
			if err := m.recoverStream(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *statusUpdates) recoverStream(k streamKey) error {
	path := filepath.Join(m.streamDir(k), updatesFile)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(m.streamDir(k))
		return nil
	}
	if err != nil {
		return fmt.Errorf("open status update checkpoint: %w", err)
	}
	defer f.Close()
	s := &updateStream{key: k, dir: m.streamDir(k), seen: map[string]bool{}, interval: m.initialRetry}
	r := bufio.NewReader(f)
	var good int64
	var lastPopTerminal bool
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			break
		}
		var rec updateRecord
		if err != nil || json.Unmarshal(line, &rec) != nil {
			m.log.Warn("cutting a torn record off a status update checkpoint", "path", path, "offset", good)
			if err := f.Truncate(good); err != nil {
				return fmt.Errorf("repair status update checkpoint %s: %w", path, err)
			}
			break
		}
		good += int64(len(line))
		switch rec.Type {
		case recordUpdate:
			if rec.Status != nil && !s.seen[string(rec.Status.UUID)] {
				s.seen[string(rec.Status.UUID)] = true
				s.note(*rec.Status)
				s.pending = append(s.pending, *rec.Status)
			}
		case recordAck:
			if len(s.pending) > 0 && bytes.Equal(s.pending[0].UUID, rec.UUID) {
				lastPopTerminal = s.pending[0].State.IsTerminal()
				s.pending = s.pending[1:]
			}
		}
	}
	if len(s.pending) == 0 && (lastPopTerminal || s.latest == "") {
		// Acknowledged terminal (or empty): the removal was interrupted.
		return os.RemoveAll(s.dir)
	}
	af, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open status update checkpoint: %w", err)
	}
	s.file = af
	m.streams[k] = s
	m.log.Info("recovered status updates", "framework_id", k.fid, "task_id", k.tid, "pending", len(s.pending), "latest_state", s.latest)
	return nil
}

// syncDir makes a directory's new entries durable; errors only cost
// durability of a creation, so they are ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
