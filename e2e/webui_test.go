package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium to drive, "" when there is none.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium whose console errors and uncaught
// exceptions the test collects.
type browser struct {
	ctx    context.Context
	shots  string
	mu     sync.Mutex
	errors []string
}

// newBrowser starts Chromium with a fresh profile; it is killed when the
// test ends.
func newBrowser(t testing.TB, exe string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.NoSandbox, // as root, Chromium will not start with its sandbox
		chromedp.DisableGPU,
		chromedp.WindowSize(1400, 950),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	b := &browser{ctx: ctx, shots: os.Getenv("MESH_UI_SCREENSHOTS")}
	if b.shots == "" {
		b.shots = t.TempDir()
	}
	// Console starts the browser and subscribes to the page's console:
	// console.error calls, uncaught exceptions and the browser log's
	// errors other than failed requests (a sandbox file the page asks for
	// before the task has written it is a 404 the page expects).
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
				b.fail(fmt.Sprintf("%s (at %s:%d)", m, m.URL, m.Line))
			}
		}
	}()
	t.Cleanup(func() {
		cancel() // closes the browser and waits for its process
		cancelAlloc()
		<-done
	})
	return b
}

func (b *browser) fail(msg string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, msg)
}

// checkConsole fails the test for every console error so far.
func (b *browser) checkConsole(t testing.TB, page string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("%s page: %s", page, e)
	}
	b.errors = nil
}

// do runs steps, all of them within timeout.
func (b *browser) do(t testing.TB, what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tctx, tcancel := context.WithTimeout(b.ctx, 5*time.Second)
		defer tcancel()
		text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : ''`))
		t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

// eval evaluates a JavaScript expression in the page (awaiting it when
// it is a promise).
func eval[T any](t testing.TB, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript condition in the page until it is true (the
// do that runs it bounds the wait).
func waitJS(cond string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))
}

// visible waits for an element that matches a CSS selector to show.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// screenshot saves the page as webui-name.png in the screenshot folder
// (the test's temporary directory, or $MESH_UI_SCREENSHOTS to keep them).
func (b *browser) screenshot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", name, err)
	}
	p := filepath.Join(b.shots, "webui-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the %s page: %s", name, p)
}

// TestWebUI_PagesShowTheClusterLive drives the web UI in headless
// Chromium against 3 servers, an agent and tasks of several frameworks,
// with the page loaded from a follower: every page loads without a
// console error and shows what the test created, a running task's stdout
// appears in the sandbox view as the task prints it, a task launched
// after the page loaded appears without a reload, and so does one
// launched after the leader was killed.
func TestWebUI_PagesShowTheClusterLive(t *testing.T) {
	exe := chromiumPath()
	if exe == "" {
		t.Skip("no chromium found on PATH (as root, `make deps-ui` installs Debian's chromium); skipping the web UI browser test")
	}
	c := newClusterWith(t, 3, false, testRaftTiming...)
	leader := c.startAll()
	follower := c.others(leader)[0].httpAddr
	start(t, "agent", "-allow-root-tasks", "-join", c.addrs(), "-http-addr", freePort(t), "-work-dir", t.TempDir(),
		"-resources", "cpus:4;mem:2048;disk:1000;ports:[31000-31100]", "-attributes", "rack:r1;zone:z9")
	agentID := waitAgents(t, leader.httpAddr, 1).Agents[0].ID
	if out, code := run(t, 90*time.Second, "execute", "-master", c.addrs(), "-name", "batch", "-command", "echo done", "-instances", "2"); code != 0 {
		t.Fatalf("mesh execute batch exited %d:\n%s", code, out)
	}
	start(t, "execute", "-master", c.addrs(), "-name", "ticker",
		"-command", `i=0; while [ $i -lt 600 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done`)
	ids := map[string]string{}
	waitFor(t, 60*time.Second, "frameworks batch and ticker", func() bool {
		var st clusterState
		if getJSON(leader.httpAddr, "/state", &st) != nil {
			return false
		}
		for _, fw := range append(st.Frameworks, st.CompletedFrameworks...) {
			ids[fw.Name] = fw.ID
		}
		return ids["batch"] != "" && ids["ticker"] != ""
	})

	b := newBrowser(t, exe)
	base := "http://" + follower + "/"

	// Overview: the servers with their raft roles, from a follower.
	b.do(t, "overview", 30*time.Second,
		chromedp.Navigate(base+"#/overview"),
		visible(`[data-card=leader]`),
		waitJS(`document.querySelectorAll('[data-list=servers] [data-server]').length === 3`),
		waitJS(fmt.Sprintf(`document.querySelector('[data-server="%s"] .badge').textContent === 'leader'`, leader.httpAddr)),
		waitJS(`document.querySelector('#conn').classList.contains('live')`),
		waitJS(`document.querySelector('[data-resource=cpus]') !== null && document.querySelector('#ov-chart svg') !== null`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`window.meshTestNoReload = true`)(ctx, tg)
			return err
		}),
	)
	b.screenshot(t, "overview")
	b.checkConsole(t, "overview")

	b.do(t, "agents", 20*time.Second,
		chromedp.Navigate(base+"#/agents"),
		visible(fmt.Sprintf(`tr[data-agent=%q]`, agentID)),
		waitJS(fmt.Sprintf(`document.querySelector('tr[data-agent=%q]').textContent.includes('zone:z9')`, agentID)),
	)
	b.screenshot(t, "agents")
	b.checkConsole(t, "agents")

	b.do(t, "frameworks", 20*time.Second,
		chromedp.Navigate(base+"#/frameworks"),
		visible(fmt.Sprintf(`tr[data-framework=%q]`, ids["ticker"])),
		visible(fmt.Sprintf(`tr[data-framework=%q]`, ids["batch"])),
	)
	b.screenshot(t, "frameworks")
	b.checkConsole(t, "frameworks")

	b.do(t, "tasks", 20*time.Second,
		chromedp.Navigate(base+"#/tasks"),
		visible(`tr[data-task="ticker-0"] [data-state=TASK_RUNNING]`),
		visible(`tr[data-task="batch-0"] [data-state=TASK_FINISHED]`),
		visible(`tr[data-task="batch-1"]`),
	)
	// A task launched now shows up on the open page, with no reload.
	start(t, "execute", "-master", c.addrs(), "-name", "late", "-command", "sleep 60")
	b.do(t, "a task launched after the page loaded", 60*time.Second,
		visible(`tr[data-task="late-0"]`),
		waitJS(`window.meshTestNoReload === true`),
		chromedp.SendKeys(chromedp.CSS(`input[data-filter=tasks]`), "late"),
		waitJS(`document.querySelectorAll('tbody tr[data-task]').length === 1 && document.querySelector('tr[data-task="late-0"]') !== null`),
	)
	b.screenshot(t, "tasks")
	b.checkConsole(t, "tasks")

	// The sandbox: ticker-0's stdout grows on the page while it runs.
	b.do(t, "the sandbox of ticker-0", 30*time.Second,
		chromedp.Navigate(fmt.Sprintf("%s#/tasks/%s/ticker-0", base, ids["ticker"])),
		visible(`pre#log[data-file=stdout]`),
		waitJS(`/tick \d+\n$/.test(document.querySelector('#log').textContent)`),
	)
	first := eval[string](t, b, `document.querySelector('#log').textContent.trim().split('\n').pop()`)
	var n int
	if _, err := fmt.Sscanf(first, "tick %d", &n); err != nil {
		t.Fatalf("last line of ticker-0's stdout on the page: %q", first)
	}
	b.do(t, "ticker-0's stdout to grow on the page", 30*time.Second,
		waitJS(fmt.Sprintf(`document.querySelector('#log').textContent.includes('tick %d\n')`, n+10)),
		waitJS(`window.meshTestNoReload === true`),
	)
	b.screenshot(t, "sandbox")
	b.do(t, "the sandbox's files", 20*time.Second,
		chromedp.Click(chromedp.CSS(`[data-tab=files]`)),
		visible(`a[data-file$="/stdout"]`),
		visible(`a[data-file$="/stderr"]`),
	)
	b.checkConsole(t, "sandbox")

	if msg := eval[string](t, b, recordIOCheck); msg != "" {
		t.Errorf("the page's RecordIO decoder: %s", msg)
	}

	// The leader dies: the page, still open on a follower, follows the
	// new leader's event stream and shows the new roles.
	leader.p.kill(t)
	var next *testServer
	waitFor(t, 30*time.Second, "a new leader", func() bool { next = establishedLeader(c.others(leader)); return next != nil })
	start(t, "execute", "-master", c.addrs(), "-name", "after", "-command", "sleep 60")
	eval[bool](t, b, `location.hash = '#/tasks'; true`)
	b.do(t, "a task launched after a leader change", 60*time.Second,
		visible(`input[data-filter=tasks]`),
		chromedp.SetValue(chromedp.CSS(`input[data-filter=tasks]`), "after"),
		chromedp.SendKeys(chromedp.CSS(`input[data-filter=tasks]`), "-0"),
		visible(`tr[data-task="after-0"]`),
		waitJS(`document.querySelector('#conn').classList.contains('live')`),
		waitJS(`window.meshTestNoReload === true`),
	)
	eval[bool](t, b, `location.hash = '#/overview'; true`)
	b.do(t, "the overview after a leader change", 30*time.Second,
		waitJS(fmt.Sprintf(`(document.querySelector('[data-server="%s"] .badge') || {}).textContent === 'leader'`, next.httpAddr)),
		waitJS(fmt.Sprintf(`(document.querySelector('[data-server="%s"]') || {textContent: ''}).textContent.includes('unhealthy')`, leader.httpAddr)),
		waitJS(`window.meshTestNoReload === true`),
	)
	b.screenshot(t, "overview-after-failover")
	b.checkConsole(t, "after a leader change")
}

// recordIOCheck feeds the page's RecordIO decoder (ui/static/api.js)
// 300 seeded random streams of records, multi-byte text among them, cut
// into random chunks, and headers it must refuse; it evaluates to ""
// when the decoder got every record back and refused every bad header,
// else to what went wrong.
const recordIOCheck = `(async () => {
	const base = document.querySelector('script[type=module]').src.replace(/app\.js$/, '');
	const { RecordIO } = await import(base + 'api.js');
	const enc = new TextEncoder();
	let seed = 7;
	const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
	const failures = [];
	for (let round = 0; round < 300; round++) {
		const want = [];
		const parts = [];
		for (let i = rnd(6); i > 0; i--) {
			const rec = JSON.stringify({ i, text: 'é✓ '.repeat(rnd(40)) + 'x'.repeat(rnd(3000)) });
			want.push(rec);
			const body = enc.encode(rec);
			parts.push(enc.encode(body.length + '\n'), body);
		}
		const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
		parts.reduce((at, p) => { all.set(p, at); return at + p.length; }, 0);
		const rio = new RecordIO();
		const got = [];
		for (let at = 0; at < all.length;) {
			const n = 1 + rnd(rnd(2) ? 5 : 900);
			got.push(...rio.push(all.subarray(at, at + n)));
			at += n;
		}
		if (JSON.stringify(got) !== JSON.stringify(want)) failures.push('round ' + round + ': got ' + got.length + ' records of ' + want.length);
	}
	for (const bad of ['x\n', '\n', '-1\n', '1a\n', '999999999999\n', '9999999999\n', '600000000\n']) {
		try {
			new RecordIO().push(enc.encode(bad));
			failures.push('accepted the header ' + JSON.stringify(bad));
		} catch (e) {}
	}
	return failures.join('; ');
})()`
