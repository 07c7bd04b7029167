// Command ferretdb runs FerretDB v1.24 with its SQLite backend for the Warden local stack.
//
// FerretDB's own `go install .../cmd/ferretdb` binary panics on a missing build/version/version.txt
// when FerretDB is the main module (FerretDB#2982); embedding the `ferretdb` package in this small
// main module avoids that.
//
// Usage: ferretdb --listen 127.0.0.1:27017 --sqlite-dir /abs/data/dir [--sqlite-synchronous normal]
//
// --sqlite-synchronous sets SQLite's synchronous pragma (FerretDB runs SQLite in WAL mode). SQLite's own
// default, full, syncs the WAL to disk at every commit; normal syncs it at checkpoints only: a commit survives
// a crash of FerretDB or of any process, and only an operating-system crash or a power cut can lose the last
// ones, the same contract as a standalone MongoDB's default (w:1 without j, journal flushed every 100 ms).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "", "directory holding the SQLite databases (created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	synchronous := flag.String("sqlite-synchronous", "full", "SQLite synchronous pragma: full or normal")
	flag.Parse()

	if err := run(*listen, *sqliteDir, *logLevel, *synchronous); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, sqliteDir, logLevel, synchronous string) error {
	if sqliteDir == "" {
		return fmt.Errorf("--sqlite-dir is required")
	}

	if synchronous != "full" && synchronous != "normal" {
		return fmt.Errorf("--sqlite-synchronous: %q is neither full nor normal", synchronous)
	}

	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return err
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// SQLiteURL must use the file: scheme, end with a slash and name an existing directory.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(dir) + "/?_pragma=synchronous(" + synchronous + ")",
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	done := make(chan error, 1)

	go func() { done <- f.Run(ctx) }()

	// MongoDBURI is only safe once Run has started the listener.
	logger.Info("ferretdb ready", slog.String("uri", f.MongoDBURI()), slog.String("sqlite_dir", dir))

	err = <-done

	logger.Info("ferretdb stopped")

	return err
}
