package sqlitestore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/sqlitestore"
)

// helperEnv names the file the helper process writes to; set, it makes
// the test binary run helperMain instead of the tests.
const helperEnv = "SQLITESTORE_TEST_HELPER_FILE"

// helperMain is the writer process of TestProcessRestart: it saves session
// "s<i>" (holding i) and sets "n" to i in session "counter", for i = 1, 2,
// …, and prints "ack i" once both Saves have returned nil, until killed.
func helperMain() int {
	s, err := sqlitestore.New(os.Getenv(helperEnv))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ctx := context.Background()
	if err := s.Save(ctx, "counter", sessionmw.Update{Replace: true}, time.Hour); err != nil {
		fmt.Println("error", err)
		return 1
	}
	for i := 1; ; i++ {
		err := s.Save(ctx, "s"+strconv.Itoa(i), sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("i", i)}}, time.Hour)
		if err == nil {
			err = s.Save(ctx, "counter", sessionmw.Update{Set: []sessionmw.Entry{e("n", i)}}, time.Hour)
		}
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("ack", i) // os.Stdout is unbuffered: the parent sees it now
	}
}

// TestProcessRestart runs a writer in another process, kills it with
// SIGKILL in the middle of its writes (no Close, no checkpoint), and
// opens the file again: every Save the writer saw succeed is there.
func TestProcessRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restart.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // if the test stops early
	lines := bufio.NewScanner(out)
	acked := 0
	readAck := func() bool {
		if !lines.Scan() {
			return false
		}
		n, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			t.Fatalf("writer: %s", lines.Text())
		}
		acked, _ = strconv.Atoi(n)
		return true
	}
	for acked < 200 {
		if !readAck() {
			t.Fatalf("the writer stopped after %d acknowledged writes: %v", acked, cmd.Wait())
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for readAck() { // acknowledged before the kill, read after it
	}
	_ = cmd.Wait()

	s := newStore(t, path)
	for i := 1; i <= acked; i++ {
		r := mustLoad(t, s, "s"+strconv.Itoa(i))
		if v, _ := r.Get("i"); v != i {
			t.Fatalf("s%d after the restart: %+v, want i=%d (acknowledged before the kill)", i, r, i)
		}
	}
	if v, _ := mustLoad(t, s, "counter").Get("n"); v.(int) < acked {
		t.Fatalf("counter n = %v after the restart, but %d was acknowledged", v, acked)
	}
	t.Logf("the writer was killed after %d acknowledged writes; all of them were there after reopening the file", acked)
}

// Close and New again in one process keep the sessions too.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reopen.db")
	s, err := sqlitestore.New(path)
	if err != nil {
		t.Fatal(err)
	}
	mustSave(t, s, "id", sessionmw.Update{Replace: true, Set: []sessionmw.Entry{e("a", 1)}, Meta: as("ana", 7)}, time.Hour)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, path)
	r := mustLoad(t, s, "id")
	if v, _ := r.Get("a"); v != 1 || r.Meta.Created != 7 {
		t.Fatalf("after reopening: %+v", r)
	}
	if infos, err := s.SubjectSessions(context.Background(), "ana"); err != nil || len(infos) != 1 {
		t.Fatalf("SubjectSessions after reopening = %v, %v", infos, err)
	}
}
