package pattern

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The lexer follows the token rules of STIXPattern.g4 with ANTLR's
// longest-match, first-rule-wins resolution, over the input string itself:
// a token is a kind and a byte range, and its value is decoded only when the
// parser needs it. Malformed literals that the grammar would split into
// meaningless tokens (h'zz' is the identifier h then the string 'zz') are
// reported here instead, where a precise message is possible; no such
// token sequence is valid anywhere in the grammar, so this accepts and
// rejects the same inputs.

type tokKind uint8

const (
	tEOF         tokKind = iota
	tInvalid             // a character no parser rule uses: + - ^ / and others
	tIdent               // [a-zA-Z_][a-zA-Z0-9_]*, not a keyword
	tIdentHyphen         // an identifier with at least one hyphen
	tInt
	tFloat
	tString
	tBool
	tBinary
	tHex
	tTimestamp
	tEq
	tNeq
	tLt
	tLe
	tGt
	tGe
	tColon
	tDot
	tComma
	tLParen
	tRParen
	tLBrack
	tRBrack
	tStar
	tAnd
	tOr
	tNot
	tFollowedBy
	tLike
	tMatches
	tIsSuperset
	tIsSubset
	tExists
	tLast // reserved by the grammar, used by no rule
	tIn
	tStart
	tStop
	tSeconds
	tWithin
	tRepeats
	tTimes
)

type token struct {
	kind     tokKind
	pos, end int  // byte range in the input
	esc      bool // tString: has escapes; tBinary: has line breaks to drop
}

// keyword classifies an identifier without hyphens. Keywords are case
// sensitive, as in the grammar: "and" is an identifier.
func keyword(s string) tokKind {
	switch s {
	case "AND":
		return tAnd
	case "OR":
		return tOr
	case "NOT":
		return tNot
	case "FOLLOWEDBY":
		return tFollowedBy
	case "LIKE":
		return tLike
	case "MATCHES":
		return tMatches
	case "ISSUPERSET":
		return tIsSuperset
	case "ISSUBSET":
		return tIsSubset
	case "EXISTS":
		return tExists
	case "LAST":
		return tLast
	case "IN":
		return tIn
	case "START":
		return tStart
	case "STOP":
		return tStop
	case "SECONDS":
		return tSeconds
	case "WITHIN":
		return tWithin
	case "REPEATS":
		return tRepeats
	case "TIMES":
		return tTimes
	case "true", "false":
		return tBool
	}
	return tIdent
}

func isIdentStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isBase64Char(c byte) bool {
	return isIdentStart(c) && c != '_' || isDigit(c) || c == '+' || c == '/'
}

// skipSpace moves past whitespace (any code point with the Unicode
// White_Space property, as the specification says and the grammar lists)
// and comments.
func (p *parser) skipSpace() *Error {
	s := p.src
	for p.off < len(s) {
		switch c := s[p.off]; c {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			p.off++
		case '/':
			if p.off+1 >= len(s) {
				return nil
			}
			switch s[p.off+1] {
			case '*':
				end := indexFrom(s, p.off+2, "*/")
				if end < 0 {
					return errorf(p.off, "unterminated comment: expected \"*/\" before end of pattern")
				}
				p.off = end + 2
			case '/':
				p.off += 2
				for p.off < len(s) && s[p.off] != '\n' && s[p.off] != '\r' {
					p.off++
				}
			default:
				return nil
			}
		default:
			if c < utf8.RuneSelf {
				return nil
			}
			r, size := utf8.DecodeRuneInString(s[p.off:])
			if !unicode.IsSpace(r) {
				return nil
			}
			p.off += size
		}
	}
	return nil
}

func indexFrom(s string, from int, sub string) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i] == sub[0] && s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// next reads the token at p.off into p.tok.
func (p *parser) next() *Error {
	if err := p.skipSpace(); err != nil {
		return err
	}
	s := p.src
	start := p.off
	if start >= len(s) {
		p.tok = token{kind: tEOF, pos: start, end: start}
		return nil
	}
	tok := token{pos: start}
	c := s[start]
	var c1 byte
	if start+1 < len(s) {
		c1 = s[start+1]
	}
	switch {
	case c1 == '\'' && (c == 'b' || c == 'h' || c == 't'):
		return p.prefixedLiteral(c)
	case isIdentStart(c):
		i, hyphen := start+1, false
		for i < len(s) && (isIdentChar(s[i]) || s[i] == '-') {
			hyphen = hyphen || s[i] == '-'
			i++
		}
		tok.end = i
		if hyphen {
			tok.kind = tIdentHyphen
		} else {
			tok.kind = keyword(s[start:i])
		}
	case isDigit(c) || c == '.' && isDigit(c1) || (c == '+' || c == '-') && (isDigit(c1) || c1 == '.'):
		return p.number()
	case c == '\'':
		return p.stringLiteral()
	default:
		tok.end = start + 1
		switch c {
		case '=':
			tok.kind = tEq
			if c1 == '=' {
				tok.end++
			}
		case '!':
			tok.kind = tInvalid
			if c1 == '=' {
				tok.kind = tNeq
				tok.end++
			}
		case '<':
			tok.kind = tLt
			switch c1 {
			case '=':
				tok.kind = tLe
				tok.end++
			case '>':
				tok.kind = tNeq
				tok.end++
			}
		case '>':
			tok.kind = tGt
			if c1 == '=' {
				tok.kind = tGe
				tok.end++
			}
		case ':':
			tok.kind = tColon
		case '.':
			tok.kind = tDot
		case ',':
			tok.kind = tComma
		case '(':
			tok.kind = tLParen
		case ')':
			tok.kind = tRParen
		case '[':
			tok.kind = tLBrack
		case ']':
			tok.kind = tRBrack
		case '*':
			tok.kind = tStar
		default:
			tok.kind = tInvalid
			if c >= utf8.RuneSelf {
				_, size := utf8.DecodeRuneInString(s[start:])
				tok.end = start + size
			}
		}
	}
	p.tok = tok
	p.off = tok.end
	return nil
}

// number lexes IntPosLiteral, IntNegLiteral, FloatPosLiteral or
// FloatNegLiteral: an optional sign, digits, and for a float a point
// followed by at least one digit.
func (p *parser) number() *Error {
	s, start := p.src, p.off
	i := start
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	digits := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	kind := tInt
	if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
		kind = tFloat
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	} else if i-digits > 1 && s[digits] == '0' {
		// The grammar would read "007" as three integers in a row, which
		// no rule accepts.
		return errorf(start, "invalid integer %q: leading zeros are not allowed", s[start:i])
	}
	p.tok = token{kind: kind, pos: start, end: i}
	p.off = i
	return nil
}

// stringLiteral lexes a quoted string. The only escapes are \' and \\; the
// text must be UTF-8, as patterns are Unicode strings.
func (p *parser) stringLiteral() *Error {
	s, start := p.src, p.off
	esc := false
	for i := start + 1; i < len(s); {
		switch c := s[i]; {
		case c == '\'':
			p.tok = token{kind: tString, pos: start, end: i + 1, esc: esc}
			p.off = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(s) {
				return errorf(start, "unterminated string literal: expected closing \"'\" before end of pattern")
			}
			if n := s[i+1]; n != '\\' && n != '\'' {
				_, size := utf8.DecodeRuneInString(s[i+1:])
				return errorf(i, "invalid escape %q in string literal: only \\\\ and \\' are allowed", s[i:i+1+size])
			}
			esc = true
			i += 2
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return errorf(i, "invalid UTF-8 in string literal")
			}
			i += size
		default:
			i++
		}
	}
	return errorf(start, "unterminated string literal: expected closing \"'\" before end of pattern")
}

// prefixedLiteral lexes b'…', h'…' and t'…', validating the content: the
// specification says an invalid constant makes the whole pattern invalid.
func (p *parser) prefixedLiteral(prefix byte) *Error {
	s, start := p.src, p.off
	body := start + 2
	end := body
	for end < len(s) && s[end] != '\'' {
		end++
	}
	if end >= len(s) {
		return errorf(start, "unterminated %s literal: expected closing \"'\" before end of pattern", prefixName(prefix))
	}
	tok := token{pos: start, end: end + 1}
	switch prefix {
	case 'h':
		tok.kind = tHex
		for i := body; i < end; i++ {
			if !isHexDigit(s[i]) {
				return errorf(i, "invalid hex literal: expected hex digit or \"'\", found %s", quoteRune(s, i))
			}
		}
		if (end-body)%2 != 0 {
			return errorf(start, "invalid hex literal: odd number of hex digits (%d)", end-body)
		}
	case 'b':
		tok.kind = tBinary
		if err := checkBase64(s, body, end, &tok.esc); err != nil {
			return err
		}
	case 't':
		tok.kind = tTimestamp
		if _, msg := parseTimestamp(s[body:end]); msg != "" {
			return errorf(start, "invalid timestamp %s: %s", quoteText(s[start:end+1]), msg)
		}
	}
	p.tok = tok
	p.off = tok.end
	return nil
}

func prefixName(prefix byte) string {
	switch prefix {
	case 'h':
		return "hex"
	case 'b':
		return "binary"
	}
	return "timestamp"
}

// quoteRune quotes the code point at s[i] for an error message.
func quoteRune(s string, i int) string {
	_, size := utf8.DecodeRuneInString(s[i:])
	return strconv.Quote(s[i : i+size])
}

// checkBase64 validates s[from:to] as padded standard base64, at least one
// quantum long, as the grammar's BinaryLiteral requires. Line breaks are
// skipped: the specification says line feeds in base64 data MUST be
// supported and ignored, which the grammar forgot. *breaks reports them.
func checkBase64(s string, from, to int, breaks *bool) *Error {
	n, pad := 0, 0 // base64 characters so far; '=' seen
	for i := from; i < to; i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			*breaks = true
		case c == '=':
			if n%4 < 2 || pad == 2 {
				return errorf(i, "invalid binary literal: misplaced base64 padding \"=\"")
			}
			pad++
			n++
		case isBase64Char(c):
			if pad > 0 {
				return errorf(i, "invalid binary literal: base64 data after padding \"=\"")
			}
			n++
		default:
			return errorf(i, "invalid binary literal: expected base64 character or \"'\", found %s", quoteRune(s, i))
		}
	}
	if n == 0 {
		return errorf(from-2, "invalid binary literal: empty base64 data")
	}
	if n%4 != 0 {
		return errorf(to, "invalid binary literal: base64 data is %d characters, not a multiple of 4", n)
	}
	return nil
}
