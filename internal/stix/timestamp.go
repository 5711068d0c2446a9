package stix

import (
	"fmt"
	"time"
)

// ParseTimestamp parses a STIX timestamp: RFC 3339, UTC, "Z" designator,
// YYYY-MM-DDTHH:mm:ss[.s+]Z. Offsets other than Z are refused, as the
// specification requires.
func ParseTimestamp(s string) (time.Time, error) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[10] != 'T' {
		return time.Time{}, fmt.Errorf("timestamp %q: want YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC", s)
	}
	if len(s) > 20 && s[19] != '.' {
		return time.Time{}, fmt.Errorf("timestamp %q: want YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC", s)
	}
	if len(s) == 21 { // "…ss.Z": a decimal point with no digits
		return time.Time{}, fmt.Errorf("timestamp %q: a decimal point must be followed by digits", s)
	}
	for i := 20; i < len(s)-1; i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("timestamp %q: sub-second part must be digits", s)
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %v", s, err)
	}
	return t, nil
}

// SubsecondDigits is the number of digits after the decimal point of a valid
// timestamp (0 when there is none).
func SubsecondDigits(s string) int {
	if len(s) <= 21 {
		return 0
	}
	return len(s) - 21
}

// TimestampKey normalises a STIX timestamp into a fixed-width string whose byte
// order is time order: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ". Precision beyond
// nanoseconds is truncated (the specification warns it is not portable).
func TimestampKey(s string) (string, error) {
	t, err := ParseTimestamp(s)
	if err != nil {
		return "", err
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z"), nil
}

// FormatTimestamp writes t as a STIX/TAXII timestamp with microsecond precision,
// the precision the store keeps for date_added.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}
