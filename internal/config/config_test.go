package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte(`{"listen":"127.0.0.1:1111","log_level":"warn","max_content_length":2048}`), 0o600)
	l, err := Load(dir, env(map[string]string{"ENTRAIDE_LISTEN": "127.0.0.1:2222"}), map[string]string{"log_level": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, got, want string
		src            Source
	}{
		{"listen", l.Listen, "127.0.0.1:2222", FromEnv},
		{"log_level", l.LogLevel, "debug", FromFlag},
		{"max_content_length", field(t, "max_content_length").get(&l.Config), "2048", FromFile},
		{"log_format", l.LogFormat, "text", FromDefault},
	}
	for _, c := range checks {
		if c.got != c.want || l.Sources[c.key] != c.src {
			t.Errorf("%s = %q from %s, want %q from %s", c.key, c.got, l.Sources[c.key], c.want, c.src)
		}
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	cases := []struct {
		file  string
		env   map[string]string
		flags map[string]string
		want  string
	}{
		{`{"listen": "nohost"}`, nil, nil, `"listen": want host:port`},
		{`{"listen": 8443}`, nil, nil, `"listen": want host:port`},
		{`{"bogus": 1}`, nil, nil, "unknown setting(s) bogus"},
		{`{"log_level": ["x"]}`, nil, nil, "want a string or a number"},
		{`not json`, nil, nil, "not a JSON object"},
		{``, map[string]string{"ENTRAIDE_DB": "mysql://x"}, nil, "environment ENTRAIDE_DB"},
		{``, nil, map[string]string{"max_content_length": "12"}, "flag --max_content_length"},
		{``, nil, map[string]string{"log_format": "xml"}, "want text or json"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		if c.file != "" {
			os.WriteFile(filepath.Join(dir, FileName), []byte(c.file), 0o600)
		}
		_, err := Load(dir, env(c.env), c.flags)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v %v: error %v, want it to contain %q", c.file, c.env, c.flags, err, c.want)
		}
	}
}

func TestSecretsMasked(t *testing.T) {
	l, err := Load("", env(map[string]string{"ENTRAIDE_DB": "postgres://u:pw@h/db"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields {
		if strings.Contains(l.Value(f), "pw@") {
			t.Fatalf("%s printed a secret: %s", f.Key, l.Value(f))
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"listen":"127.0.0.1:1","db":"postgres://x","max_content_length":"4096"}`))
	f.Add([]byte(`{"log_level":"debug","log_format":"json","api_title":"t"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, FileName), b, 0o600)
		l, err := Load(dir, env(nil), nil)
		if err != nil {
			return
		}
		// Whatever was accepted must be valid by every setter again.
		for _, fl := range Fields {
			var c Config
			if err := fl.set(&c, fl.get(&l.Config)); err != nil {
				t.Fatalf("%s accepted %q but it does not validate: %v", fl.Key, fl.get(&l.Config), err)
			}
		}
	})
}

func field(t *testing.T, key string) Field {
	for _, f := range Fields {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("no field %q", key)
	return Field{}
}
