package pattern

import "time"

// parseTimestamp checks a timestamp constant's text against STIX 2.1
// section 2.16 (RFC 3339, UTC, "Z", YYYY-MM-DDTHH:mm:ss[.s+]Z) and the
// calendar, which the grammar's TimestampLiteral rule does not know: it
// accepts 2023-02-31. On failure msg says what is wrong.
//
// It is written out rather than left to time.Parse to run without
// allocating and to accept what RFC 3339 accepts and package time refuses:
// a leap second, 23:59:60, which the grammar allows.
func parseTimestamp(s string) (t time.Time, msg string) {
	const want = "want YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC"
	if len(s) < 20 {
		return t, want
	}
	for i := 0; i < 19; i++ {
		c := s[i]
		switch i {
		case 4, 7:
			if c != '-' {
				return t, want
			}
		case 10:
			if c != 'T' {
				return t, want
			}
		case 13, 16:
			if c != ':' {
				return t, want
			}
		default:
			if !isDigit(c) {
				return t, want
			}
		}
	}
	rest := s[19:]
	nanos, scale := 0, 100000000
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			// Digits past nanoseconds are kept in the text and dropped here.
			nanos += int(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return t, "a decimal point must be followed by digits"
		}
		rest = rest[i:]
	}
	if rest != "Z" {
		return t, want
	}
	year := num4(s[0:4])
	month, day := num2(s[5:7]), num2(s[8:10])
	hour, minute, sec := num2(s[11:13]), num2(s[14:16]), num2(s[17:19])
	switch {
	case month < 1 || month > 12:
		return t, "month out of range"
	case day < 1 || day > daysIn(month, year):
		return t, "day out of range"
	case hour > 23:
		return t, "hour out of range"
	case minute > 59:
		return t, "minute out of range"
	case sec > 60 || sec == 60 && (hour != 23 || minute != 59):
		// RFC 3339 section 5.7: a leap second can only be 23:59:60 UTC.
		return t, "second out of range"
	}
	// time.Date folds second 60 onto the next minute.
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC), ""
}

func num2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }
func num4(s string) int { return num2(s[0:2])*100 + num2(s[2:4]) }

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
