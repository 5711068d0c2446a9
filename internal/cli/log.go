package cli

import (
	"log"
	"log/slog"
	"strings"
)

// slogErrorLog routes net/http's internal messages (TLS handshake errors from
// scanners, mostly) into the structured log at debug level.
func slogErrorLog(l *slog.Logger) *log.Logger {
	return log.New(writerFunc(func(p []byte) (int, error) {
		l.Debug("http", "msg", strings.TrimSpace(string(p)))
		return len(p), nil
	}), "", 0)
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
