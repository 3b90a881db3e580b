// Command sessiongw is a reverse proxy with sessions, configured by a
// directory of YAML in the seed gateway's format (middlewares.yaml,
// routes.yaml, plugins.yaml) plus actions.yaml, storages.yaml and, for
// Kong's key-auth, consumers.yaml. See package sessionmw/config for the
// files and example/sessiongw/ for two directories.
//
//	sessiongw check DIR                 # validate everything, start nothing
//	sessiongw serve [flags] DIR         # serve until SIGTERM; SIGHUP reloads
//
// The session secret comes from $SESSIONGW_SECRET or the file named by
// $SESSIONGW_SECRET_FILE (at least 32 bytes), never from YAML.
//
// serve answers GET /healthz itself, logs every request as JSON (method,
// path without the query, status, duration, route, consumer, session
// fingerprint; never a cookie, key or session id), reloads DIR on SIGHUP
// (an invalid directory keeps the running configuration; stores whose
// entry did not change are kept, with their sessions) and on SIGTERM or
// SIGINT stops accepting connections and lets in-flight requests finish.
// -demo-upstream starts an echo server on 127.0.0.1 and forwards every
// forward action there, so the examples run without anything else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
)

// The environment variables that hold the secret.
const (
	envSecret     = "SESSIONGW_SECRET"
	envSecretFile = "SESSIONGW_SECRET_FILE"
)

const usage = `usage:
  sessiongw check DIR
  sessiongw serve [-addr HOST:PORT] [-demo-upstream] [-shutdown-timeout D] DIR

The secret comes from $` + envSecret + ` or the file named by $` + envSecretFile + `.
`

func main() {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, os.Interrupt)
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, sig); err != nil {
		fmt.Fprintln(os.Stderr, "sessiongw:", err)
		os.Exit(1)
	}
}

// run is main without the process: args, environment, output and
// signals are passed in.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer, sig <-chan os.Signal) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "check":
		return check(args[1:], getenv, stdout, stderr)
	case "serve":
		return serve(args[1:], getenv, stdout, stderr, sig)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parse parses flags given before or after DIR.
func parse(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", errors.New("no configuration directory given")
	}
	dir := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return dir, nil
}

func check(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sessiongw check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir, err := parse(fs, args)
	if err != nil {
		return err
	}
	d, err := config.ReadDir(dir)
	if err != nil {
		return explain(err)
	}
	secret, serr := readSecret(getenv)
	if serr != nil && !errors.Is(serr, errNoSecret) {
		return serr
	}
	if secret == nil {
		secret = []byte(strings.Repeat("c", sessionmw.MinSecretKeyLen)) // checks the options, signs nothing
	}
	// Memory stores stand in for every storage: check connects to nothing.
	st := newStores(slog.New(slog.DiscardHandler))
	defer st.closeAll()
	stores := map[string]sessionmw.Store{}
	for _, s := range d.Storages {
		stores[s.Name] = st.placeholder()
	}
	g, err := d.Build(config.Options{Secret: secret, Storages: stores, DefaultStore: st.placeholder()}, config.BuildOptions{})
	if err != nil {
		return explain(err)
	}
	g.Close()
	fmt.Fprintf(stdout, "%s: ok\n", dir)
	if errors.Is(serr, errNoSecret) {
		fmt.Fprintf(stdout, "note: %v; serve will refuse to start without it\n", serr)
	}
	return nil
}

// explain adds how to set the secret to ErrSecretInYAML.
func explain(err error) error {
	if errors.Is(err, config.ErrSecretInYAML) {
		return fmt.Errorf("%w; set $%s or $%s instead", err, envSecret, envSecretFile)
	}
	return err
}

var errNoSecret = errors.New("no secret: set $" + envSecret + " (at least 32 random bytes, e.g. $(openssl rand -base64 48)) or $" + envSecretFile + " (a file holding them)")

// readSecret returns the secret from the environment.
func readSecret(getenv func(string) string) ([]byte, error) {
	v, file := getenv(envSecret), getenv(envSecretFile)
	switch {
	case v != "" && file != "":
		return nil, fmt.Errorf("both $%s and $%s are set: use one", envSecret, envSecretFile)
	case v == "" && file == "":
		return nil, errNoSecret
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", envSecretFile, err)
		}
		v = strings.TrimRight(string(b), "\r\n")
		if len(v) < sessionmw.MinSecretKeyLen {
			return nil, fmt.Errorf("$%s: the secret in %s is %d bytes; want at least %d", envSecretFile, file, len(v), sessionmw.MinSecretKeyLen)
		}
	}
	if len(v) < sessionmw.MinSecretKeyLen {
		return nil, fmt.Errorf("$%s is %d bytes; want at least %d", envSecret, len(v), sessionmw.MinSecretKeyLen)
	}
	return []byte(v), nil
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer, sig <-chan os.Signal) error {
	fs := flag.NewFlagSet("sessiongw serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8000", "address to listen on")
	demo := fs.Bool("demo-upstream", false, "start an echo server on 127.0.0.1 and send every forward action there")
	shutdownTimeout := fs.Duration("shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish on SIGTERM")
	dir, err := parse(fs, args)
	if err != nil {
		return err
	}
	secret, err := readSecret(getenv)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	s := &server{dir: dir, secret: secret, log: logger, stores: newStores(logger)}
	defer s.stores.closeAll()
	if *demo {
		url, stop, err := startDemoUpstream(logger)
		if err != nil {
			return err
		}
		defer stop()
		s.upstream = url
		fmt.Fprintf(stdout, "sessiongw: demo upstream (echo) on %s: every forward action goes there\n", url)
	}
	if err := s.load(context.Background()); err != nil {
		return explain(err)
	}
	return s.run(*addr, *shutdownTimeout, stdout, sig)
}
