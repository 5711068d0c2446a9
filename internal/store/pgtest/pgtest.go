// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is the one named by ENTRAIDE_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), which needs a
// role allowed to create databases. Every call of DSN creates a database
// entraide_t_<random> and drops it when the test ends, so tests run in
// parallel and leave nothing behind. When the server cannot be reached the
// test is skipped, except in CI (CI=true), where it fails: there PostgreSQL
// is part of the contract.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// DefaultDSN is the server tests use when ENTRAIDE_TEST_POSTGRES is unset.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminDSN is the DSN of the server's maintenance database.
func AdminDSN() string {
	if v := os.Getenv("ENTRAIDE_TEST_POSTGRES"); v != "" {
		return v
	}
	return DefaultDSN
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// server returns a pool on the admin database, opened once per process.
func server() (*sql.DB, error) {
	adminOnce.Do(func() {
		db, err := sql.Open("pgx", AdminDSN())
		if err != nil {
			adminErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			adminErr = err
			return
		}
		db.SetMaxIdleConns(2)
		admin = db
	})
	return admin, adminErr
}

// unavailable skips the test, or fails it in CI.
func unavailable(t testing.TB, err error) {
	t.Helper()
	msg := fmt.Sprintf("PostgreSQL at %s is unreachable (set ENTRAIDE_TEST_POSTGRES): %v", redact(AdminDSN()), err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// DSN creates a fresh, empty database for the test and returns its DSN. The
// database is dropped when the test and its subtests have finished.
func DSN(t testing.TB) string {
	t.Helper()
	if _, err := server(); err != nil {
		unavailable(t, err)
	}
	dsn, drop, err := NewDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

// NewDatabase creates a fresh, empty database and returns its DSN and a
// function that drops it, for fixtures that outlive one test (benchmarks
// sharing a large store). Prefer DSN.
func NewDatabase() (dsn string, drop func() error, err error) {
	db, err := server()
	if err != nil {
		return "", nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", redact(AdminDSN()), err)
	}
	u, err := url.Parse(AdminDSN())
	if err != nil {
		return "", nil, fmt.Errorf("ENTRAIDE_TEST_POSTGRES: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := "entraide_t_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u.Path = "/" + name
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}
