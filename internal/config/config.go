// Package config declares, once, every setting of a node: its name, default,
// environment variable, whether it is secret, and how it is validated.
// Settings come from flags over environment over the node's config file
// (DIR/config.json) over defaults. `entraide check-config` validates them
// offline; secret values are never printed.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FileName is the config file inside a node's data directory.
const FileName = "config.json"

// Config is a node's effective configuration.
type Config struct {
	Listen           string // user listener (TAXII + console), host:port
	FedListen        string // federation listener (mutual TLS, peers only), host:port; "" = not served
	DB               string // database URL; "" means the embedded SQLite file in the data directory
	MaxContentLength int64  // largest TAXII request body, bytes
	LogLevel         string // debug, info, warn, error
	LogFormat        string // text or json
	APITitle         string // TAXII API root title
}

// Field is one declared setting.
type Field struct {
	Key     string // name in config.json and flag name
	Env     string // environment variable
	Default string
	Secret  bool // never printed (a database URL may hold a password)
	Usage   string
	set     func(c *Config, v string) error
	get     func(c *Config) string
}

// Fields lists every setting, in the order `check-config` prints them.
var Fields = []Field{
	{Key: "listen", Env: "ENTRAIDE_LISTEN", Default: "127.0.0.1:8443",
		Usage: "address of the user listener (TAXII 2.1 and the console), host:port",
		set: func(c *Config, v string) error {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return fmt.Errorf("want host:port: %v", err)
			}
			c.Listen = v
			return nil
		},
		get: func(c *Config) string { return c.Listen }},
	{Key: "fed_listen", Env: "ENTRAIDE_FED_LISTEN", Default: "",
		Usage: "address of the federation listener (TAXII 2.1 over mutual TLS, pinned peers only), host:port; empty: not served",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("want host:port: %v", err)
				}
			}
			c.FedListen = v
			return nil
		},
		get: func(c *Config) string { return c.FedListen }},
	{Key: "db", Env: "ENTRAIDE_DB", Default: "", Secret: true,
		Usage: "database URL: postgres://… for PostgreSQL; empty for the embedded SQLite file DIR/entraide.db",
		set: func(c *Config, v string) error {
			if v != "" && !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.HasPrefix(v, "sqlite:") {
				return errors.New("want postgres://…, postgresql://… or sqlite:PATH")
			}
			c.DB = v
			return nil
		},
		get: func(c *Config) string { return c.DB }},
	{Key: "max_content_length", Env: "ENTRAIDE_MAX_CONTENT_LENGTH", Default: "10485760",
		Usage: "largest TAXII request body in bytes (answered 413 above it)",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 || n > 1<<30 {
				return errors.New("want a number of bytes between 1024 and 1073741824")
			}
			c.MaxContentLength = n
			return nil
		},
		get: func(c *Config) string { return strconv.FormatInt(c.MaxContentLength, 10) }},
	{Key: "log_level", Env: "ENTRAIDE_LOG_LEVEL", Default: "info",
		Usage: "log level: debug, info, warn or error",
		set: func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return errors.New("want debug, info, warn or error")
		},
		get: func(c *Config) string { return c.LogLevel }},
	{Key: "log_format", Env: "ENTRAIDE_LOG_FORMAT", Default: "text",
		Usage: "log format: text or json",
		set: func(c *Config, v string) error {
			if v != "text" && v != "json" {
				return errors.New("want text or json")
			}
			c.LogFormat = v
			return nil
		},
		get: func(c *Config) string { return c.LogFormat }},
	{Key: "api_title", Env: "ENTRAIDE_API_TITLE", Default: "Entraide node",
		Usage: "title of the TAXII API root",
		set: func(c *Config, v string) error {
			if strings.TrimSpace(v) == "" || len(v) > 200 {
				return errors.New("want a non-empty title of at most 200 characters")
			}
			c.APITitle = v
			return nil
		},
		get: func(c *Config) string { return c.APITitle }},
}

// Source says where a setting's value came from.
type Source string

const (
	FromDefault Source = "default"
	FromFile    Source = "file"
	FromEnv     Source = "env"
	FromFlag    Source = "flag"
)

// Loaded is a configuration with the source of each value.
type Loaded struct {
	Config
	Sources map[string]Source
}

// Load builds the configuration of the node in dir: defaults, then dir's
// config file (strictly decoded: an unknown key is an error), then the
// environment (getenv), then flags (only those explicitly set). Every error
// names the setting and where its bad value came from.
func Load(dir string, getenv func(string) string, flags map[string]string) (*Loaded, error) {
	l := &Loaded{Sources: map[string]Source{}}
	for _, f := range Fields {
		if err := f.set(&l.Config, f.Default); err != nil {
			panic("config: bad default for " + f.Key + ": " + err.Error())
		}
		l.Sources[f.Key] = FromDefault
	}
	if dir != "" {
		file, err := readFile(filepath.Join(dir, FileName))
		if err != nil {
			return nil, err
		}
		for _, f := range Fields {
			if v, ok := file[f.Key]; ok {
				if err := f.set(&l.Config, v); err != nil {
					return nil, fmt.Errorf("%s: %q: %v", filepath.Join(dir, FileName), f.Key, err)
				}
				l.Sources[f.Key] = FromFile
			}
		}
	}
	for _, f := range Fields {
		if v := getenv(f.Env); v != "" {
			if err := f.set(&l.Config, v); err != nil {
				return nil, fmt.Errorf("environment %s: %v", f.Env, err)
			}
			l.Sources[f.Key] = FromEnv
		}
	}
	for _, f := range Fields {
		if v, ok := flags[f.Key]; ok {
			if err := f.set(&l.Config, v); err != nil {
				return nil, fmt.Errorf("flag --%s: %v", f.Key, err)
			}
			l.Sources[f.Key] = FromFlag
		}
	}
	return l, nil
}

// readFile decodes a config file into key → string value. A missing file is
// an empty configuration; unknown keys and non-scalar values are errors.
func readFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: not a JSON object: %v", path, err)
	}
	known := map[string]bool{}
	for _, f := range Fields {
		known[f.Key] = true
	}
	out := map[string]string{}
	var unknown []string
	for k, v := range raw {
		if !known[k] {
			unknown = append(unknown, k)
			continue
		}
		switch x := v.(type) {
		case string:
			out[k] = x
		case json.Number:
			out[k] = x.String()
		default:
			return nil, fmt.Errorf("%s: %q: want a string or a number", path, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: unknown setting(s) %s (known: %s)", path, strings.Join(unknown, ", "), strings.Join(Keys(), ", "))
	}
	return out, nil
}

// Keys lists the settings' keys.
func Keys() []string {
	k := make([]string, len(Fields))
	for i, f := range Fields {
		k[i] = f.Key
	}
	return k
}

// Value returns the printable value of a setting: secrets are masked.
func (l *Loaded) Value(f Field) string {
	v := f.get(&l.Config)
	if f.Secret && v != "" {
		return "(secret, set)"
	}
	return v
}
