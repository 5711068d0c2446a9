// Package pattern parses the STIX 2.1 patterning language (STIX 2.1
// section 9), the detection language of Indicator objects whose
// pattern_type is "stix".
//
// It sits under package stix because indicators are what carry patterns:
// each one a node imports is parsed, to refuse it when its pattern is
// invalid (the specification says such a pattern matches nothing, so
// keeping it would only mislead) and to index it by Pattern.ObjectTypes.
// That puts the parser on the import path, which runs at 20,000 objects/s
// or more, so it is hand-written over the input string and allocates
// little beyond the tree it returns.
//
// The grammar is OASIS's STIXPattern.g4. Parse accepts exactly the
// sentences it derives, minus those that break the specification's
// further rules (see Parse), plus line breaks inside binary constants,
// which the prose requires and the grammar omits.
package pattern

import (
	"fmt"
	"net/netip"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds how deeply square brackets and parentheses may nest. It
// keeps hostile input from exhausting the stack of the parser and of
// anything that walks the tree; real patterns nest a few levels.
const MaxDepth = 256

// Error reports why a pattern is invalid.
type Error struct {
	// Pos is the byte offset in the input where the problem was found,
	// 0 <= Pos <= len(input).
	Pos int
	// Msg says what was expected and what was found.
	Msg string
}

func (e *Error) Error() string {
	return "pattern: at offset " + strconv.Itoa(e.Pos) + ": " + e.Msg
}

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a STIX 2.1 pattern and returns its syntax tree, or an
// *Error naming the byte offset of the first problem.
//
// Beyond the grammar, Parse enforces the rules of the specification that
// can be checked without knowing the observed data:
//   - object types follow the STIX type-name rules (lowercase letters,
//     digits and hyphens, starting with a letter, 3 to 250 characters);
//   - the operands of an AND inside square brackets can be satisfied by a
//     single object, so they share an object type;
//   - timestamps are real RFC 3339 UTC instants, and START is before STOP;
//   - WITHIN and REPEATS counts are positive, and an observation
//     expression has at most one qualifier of each kind;
//   - binary constants are valid padded base64, hex constants an even
//     number of hex digits, integers fit in 64 bits, floats are finite;
//   - the elements of a set share a type (integers and floats mix);
//   - ISSUBSET and ISSUPERSET take an IP address or CIDR prefix.
//
// Parse never panics, whatever the input, and its time and memory are
// linear in the length of the input.
func Parse(s string) (*Pattern, error) {
	p := parser{src: s}
	if err := p.next(); err != nil {
		return nil, err
	}
	e, err := p.obsLevel(FollowedBy)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("AND, OR, FOLLOWEDBY, a qualifier or end of pattern")
	}
	return &Pattern{Expr: e}, nil
}

// parser is a recursive-descent parser with one token of lookahead; the
// lexer (lex.go) works on the same struct.
type parser struct {
	src   string
	off   int   // start of the input not yet lexed
	tok   token // current token
	depth int   // open brackets and parentheses
	steps []PathStep
	// andTypes holds the common object types of each AND whose operands
	// are not all plain comparisons (see andCheck).
	andTypes map[*CompoundComparison]*typeSet
}

func (p *parser) text() string { return p.src[p.tok.pos:p.tok.end] }

// found describes the current token for an error message.
func (p *parser) found() string {
	if p.tok.kind == tEOF {
		return "end of pattern"
	}
	return quoteText(p.text())
}

// quoteText quotes input text for an error message, cut to a length that
// keeps the message readable.
func quoteText(t string) string {
	const max = 40
	if len(t) <= max {
		return strconv.Quote(t)
	}
	n := max
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return strconv.Quote(t[:n]) + "…"
}

func (p *parser) unexpected(want string) *Error {
	return errorf(p.tok.pos, "expected %s, found %s", want, p.found())
}

func (p *parser) expect(k tokKind, want string) *Error {
	if p.tok.kind != k {
		return p.unexpected(want)
	}
	return p.next()
}

func (p *parser) enter() *Error {
	p.depth++
	if p.depth > MaxDepth {
		return errorf(p.tok.pos, "brackets and parentheses nested deeper than %d levels", MaxDepth)
	}
	return nil
}

func logicTok(op LogicOp) tokKind {
	switch op {
	case And:
		return tAnd
	case Or:
		return tOr
	}
	return tFollowedBy
}

// obsLevel parses observation expressions joined by op. FOLLOWEDBY binds
// loosest, then OR, then AND, as in the grammar and section 9.5.3. A run
// is parsed in a loop into one node, so a long flat chain costs no stack.
func (p *parser) obsLevel(op LogicOp) (ObservationExpr, *Error) {
	first, err := p.obsOperand(op)
	if err != nil || p.tok.kind != logicTok(op) {
		return first, err
	}
	operands := make([]ObservationExpr, 1, 4)
	operands[0] = first
	for p.tok.kind == logicTok(op) {
		if err := p.next(); err != nil {
			return nil, err
		}
		o, err := p.obsOperand(op)
		if err != nil {
			return nil, err
		}
		operands = append(operands, o)
	}
	return &CompoundObservation{Op: op, Operands: operands}, nil
}

func (p *parser) obsOperand(op LogicOp) (ObservationExpr, *Error) {
	switch op {
	case FollowedBy:
		return p.obsLevel(Or)
	case Or:
		return p.obsLevel(And)
	}
	return p.qualified()
}

// qualified parses "[…]" or "(…)" and the qualifiers that follow it.
// Qualifiers bind tighter than any operator: in
// "[a] FOLLOWEDBY [b] REPEATS 5 TIMES" the REPEATS applies to [b] alone.
func (p *parser) qualified() (ObservationExpr, *Error) {
	var e ObservationExpr
	switch p.tok.kind {
	case tLBrack:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		c, err := p.cmpLevel(Or)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRBrack {
			return nil, p.unexpected("']' after comparison expression")
		}
		p.depth--
		if err := p.next(); err != nil {
			return nil, err
		}
		e = &Observation{Expr: c}
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		var err *Error
		if e, err = p.obsLevel(FollowedBy); err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected("')' after observation expression")
		}
		p.depth--
		if err := p.next(); err != nil {
			return nil, err
		}
	default:
		return nil, p.unexpected("'[' or '(' to start an observation expression")
	}
	var quals []Qualifier
	for p.tok.kind == tWithin || p.tok.kind == tRepeats || p.tok.kind == tStart {
		at := p.tok.pos
		q, err := p.qualifier()
		if err != nil {
			return nil, err
		}
		for i := range quals {
			if quals[i].Kind == q.Kind {
				return nil, errorf(at, "second %s qualifier on one observation expression: at most one of each kind is allowed", q.Kind)
			}
		}
		quals = append(quals, q)
	}
	if quals != nil {
		e = &QualifiedObservation{Expr: e, Qualifiers: quals}
	}
	return e, nil
}

func (p *parser) qualifier() (q Qualifier, err *Error) {
	kw := p.tok.kind
	if err := p.next(); err != nil {
		return q, err
	}
	switch kw {
	case tWithin:
		q.Kind = Within
		if p.tok.kind != tInt && p.tok.kind != tFloat || p.src[p.tok.pos] == '-' {
			return q, p.unexpected("a positive number of seconds after WITHIN")
		}
		// Integers go through ParseFloat too, so that any count the
		// printer writes without a decimal point reads back.
		f, perr := strconv.ParseFloat(p.text(), 64)
		if perr != nil {
			return q, errorf(p.tok.pos, "WITHIN count %s is out of range", p.found())
		}
		if f <= 0 {
			return q, errorf(p.tok.pos, "WITHIN count must be positive, found %s", p.found())
		}
		q.Seconds = f
		if err := p.next(); err != nil {
			return q, err
		}
		return q, p.expect(tSeconds, "SECONDS after WITHIN count")
	case tRepeats:
		q.Kind = Repeats
		if p.tok.kind != tInt || p.src[p.tok.pos] == '-' {
			return q, p.unexpected("a positive integer after REPEATS")
		}
		n, perr := strconv.ParseInt(p.text(), 10, 64)
		if perr != nil {
			return q, errorf(p.tok.pos, "REPEATS count %s is out of range", p.found())
		}
		if n <= 0 {
			return q, errorf(p.tok.pos, "REPEATS count must be positive, found %s", p.found())
		}
		q.Times = n
		if err := p.next(); err != nil {
			return q, err
		}
		return q, p.expect(tTimes, "TIMES after REPEATS count")
	}
	q.Kind = StartStop
	if p.tok.kind != tTimestamp {
		return q, p.unexpected("timestamp t'…' after START")
	}
	q.Start = p.timestamp()
	if err := p.next(); err != nil {
		return q, err
	}
	if err := p.expect(tStop, "STOP after START timestamp"); err != nil {
		return q, err
	}
	if p.tok.kind != tTimestamp {
		return q, p.unexpected("timestamp t'…' after STOP")
	}
	q.Stop = p.timestamp()
	if !q.Start.Time.Before(q.Stop.Time) {
		return q, errorf(p.tok.pos, "STOP %s is not after START t'%s'", p.text(), q.Start.Str)
	}
	return q, p.next()
}

// cmpLevel parses comparison expressions joined by op, And binding tighter
// than Or.
func (p *parser) cmpLevel(op LogicOp) (ComparisonExpr, *Error) {
	first, err := p.cmpOperand(op)
	if err != nil || p.tok.kind != logicTok(op) {
		return first, err
	}
	operands := make([]ComparisonExpr, 1, 4)
	operands[0] = first
	var and andCheck
	if op == And {
		and.init(p, first)
	}
	for p.tok.kind == logicTok(op) {
		if err := p.next(); err != nil {
			return nil, err
		}
		at := p.tok.pos
		o, err := p.cmpOperand(op)
		if err != nil {
			return nil, err
		}
		if op == And {
			if err := and.add(p, o, at); err != nil {
				return nil, err
			}
		}
		operands = append(operands, o)
	}
	c := &CompoundComparison{Op: op, Operands: operands}
	if and.common != nil {
		if p.andTypes == nil {
			p.andTypes = make(map[*CompoundComparison]*typeSet)
		}
		p.andTypes[c] = and.common
	}
	return c, nil
}

func (p *parser) cmpOperand(op LogicOp) (ComparisonExpr, *Error) {
	if op == Or {
		return p.cmpLevel(And)
	}
	return p.propTest()
}

// andCheck enforces section 9.5: all operands of an AND in an observation
// expression must be satisfiable by the same object, so the object types
// they can match must intersect. The common case, plain comparisons on one
// type, costs a string comparison and no allocation.
type andCheck struct {
	one    string   // the single common type, while common is nil
	common *typeSet // the common types, once an operand has several
}

func (a *andCheck) init(p *parser, first ComparisonExpr) {
	if c, ok := first.(*Comparison); ok {
		a.one = c.Path.ObjectType
		return
	}
	a.common = p.possibleTypes(first)
}

func (a *andCheck) add(p *parser, o ComparisonExpr, at int) *Error {
	if c, ok := o.(*Comparison); ok && a.common == nil {
		if c.Path.ObjectType != a.one {
			return andError(at, []string{a.one}, []string{c.Path.ObjectType})
		}
		return nil
	}
	if a.common == nil {
		a.common = &typeSet{}
		a.common.add(a.one)
	}
	types := p.possibleTypes(o)
	keep := a.common.intersect(types)
	if len(keep.list) == 0 {
		return andError(at, a.common.list, types.list)
	}
	a.common = keep
	return nil
}

func andError(at int, want, got []string) *Error {
	return errorf(at, "comparisons joined by AND must match one object: expected object type %s, found %s", orList(want), orList(got))
}

// orList quotes a few types for an error message.
func orList(ts []string) string {
	const max = 5
	s := ""
	for i, t := range ts {
		switch {
		case i == max:
			return s + fmt.Sprintf(" or %d more", len(ts)-max)
		case i == 0:
		case i == len(ts)-1:
			s += " or "
		default:
			s += ", "
		}
		s += strconv.Quote(t)
	}
	return s
}

// typeSet is an ordered set of object types. It switches to a map past a
// few elements so that a hostile OR of thousands of types stays linear.
type typeSet struct {
	list  []string
	index map[string]bool
}

func (s *typeSet) has(t string) bool {
	if s.index != nil {
		return s.index[t]
	}
	for _, u := range s.list {
		if u == t {
			return true
		}
	}
	return false
}

func (s *typeSet) add(t string) {
	if s.has(t) {
		return
	}
	s.list = append(s.list, t)
	switch {
	case s.index != nil:
		s.index[t] = true
	case len(s.list) > 16:
		s.index = make(map[string]bool, 2*len(s.list))
		for _, u := range s.list {
			s.index[u] = true
		}
	}
}

func (s *typeSet) intersect(o *typeSet) *typeSet {
	r := &typeSet{}
	for _, t := range s.list {
		if o.has(t) {
			r.add(t)
		}
	}
	return r
}

// possibleTypes returns the object types an object satisfying e could
// have.
func (p *parser) possibleTypes(e ComparisonExpr) *typeSet {
	s := &typeSet{}
	p.addPossibleTypes(s, e)
	return s
}

// addPossibleTypes adds to s the types of e. The common types of an And
// were worked out when it was parsed: p.andTypes has them, or, for an And
// of plain comparisons, they are the type of its first. Looking them up
// rather than walking the And again keeps nested ANDs linear.
func (p *parser) addPossibleTypes(s *typeSet, e ComparisonExpr) {
	switch e := e.(type) {
	case *Comparison:
		s.add(e.Path.ObjectType)
	case *CompoundComparison:
		if e.Op == Or {
			for _, o := range e.Operands {
				p.addPossibleTypes(s, o)
			}
			return
		}
		if common := p.andTypes[e]; common != nil {
			for _, t := range common.list {
				s.add(t)
			}
			return
		}
		p.addPossibleTypes(s, e.Operands[0])
	}
}

// propTest parses one comparison, "EXISTS path", or a parenthesised
// comparison expression.
func (p *parser) propTest() (ComparisonExpr, *Error) {
	switch p.tok.kind {
	case tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		e, err := p.cmpLevel(Or)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected("')' after comparison expression")
		}
		p.depth--
		return e, p.next()
	case tNot, tExists:
		c := &Comparison{Op: Exists, Negated: p.tok.kind == tNot}
		if c.Negated {
			if err := p.next(); err != nil {
				return nil, err
			}
			if p.tok.kind != tExists {
				return nil, p.unexpected("EXISTS after NOT")
			}
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		var err *Error
		c.Path, err = p.objectPath()
		return c, err
	case tIdent, tIdentHyphen:
	default:
		return nil, p.unexpected("comparison expression")
	}
	c := &Comparison{}
	var err *Error
	if c.Path, err = p.objectPath(); err != nil {
		return nil, err
	}
	if p.tok.kind == tNot {
		c.Negated = true
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	opText := p.text()
	switch p.tok.kind {
	case tEq:
		c.Op = Equal
	case tNeq:
		c.Op = NotEqual
	case tLt:
		c.Op = Less
	case tLe:
		c.Op = LessEqual
	case tGt:
		c.Op = Greater
	case tGe:
		c.Op = GreaterEqual
	case tIn:
		c.Op = In
	case tLike:
		c.Op = Like
	case tMatches:
		c.Op = Matches
	case tIsSubset:
		c.Op = IsSubset
	case tIsSuperset:
		c.Op = IsSuperset
	default:
		if c.Negated {
			return nil, p.unexpected("comparison operator after NOT")
		}
		return nil, p.unexpected("comparison operator after object path")
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	switch c.Op {
	case Equal, NotEqual:
		if c.Value, err = p.literal("constant after ", opText); err != nil {
			return nil, err
		}
	case Less, LessEqual, Greater, GreaterEqual:
		if p.tok.kind == tBool {
			return nil, p.unexpected("orderable constant (not a boolean) after " + opText)
		}
		if c.Value, err = p.literal("constant after ", opText); err != nil {
			return nil, err
		}
	case In:
		if c.Value, err = p.set(); err != nil {
			return nil, err
		}
	default:
		if p.tok.kind != tString {
			return nil, p.unexpected("string constant after " + opText)
		}
		if c.Op == IsSubset || c.Op == IsSuperset {
			if s := unquote(p.text(), p.tok.esc); !isIPOrPrefix(s) {
				return nil, errorf(p.tok.pos, "%s takes an IP address or CIDR prefix, found %s", opText, p.found())
			}
		}
		if c.Value, err = p.literal("string constant", ""); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func isIPOrPrefix(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// literal reads a constant other than a set, then moves past it. want and
// after describe the expected constant for the error message; they are
// joined only on error, to keep the common path free of allocations.
func (p *parser) literal(want, after string) (l Literal, err *Error) {
	switch p.tok.kind {
	case tInt:
		l.Kind = KindInt
		n, perr := strconv.ParseInt(p.text(), 10, 64)
		if perr != nil {
			return l, errorf(p.tok.pos, "integer %s is out of range", p.found())
		}
		l.Int = n
	case tFloat:
		l.Kind = KindFloat
		f, perr := strconv.ParseFloat(p.text(), 64)
		if perr != nil {
			return l, errorf(p.tok.pos, "float %s is out of range", p.found())
		}
		l.Float = f
	case tString:
		l.Kind = KindString
		l.Str = unquote(p.text(), p.tok.esc)
	case tBool:
		l.Kind = KindBool
		l.Bool = p.text() == "true"
	case tBinary:
		l.Kind = KindBinary
		l.Str = p.src[p.tok.pos+2 : p.tok.end-1]
		if p.tok.esc {
			l.Str = dropBreaks(l.Str)
		}
	case tHex:
		l.Kind = KindHex
		l.Str = p.src[p.tok.pos+2 : p.tok.end-1]
	case tTimestamp:
		l = p.timestamp()
	default:
		return l, p.unexpected(want + after)
	}
	return l, p.next()
}

// timestamp decodes the current token, which the lexer has validated.
func (p *parser) timestamp() Literal {
	s := p.src[p.tok.pos+2 : p.tok.end-1]
	t, _ := parseTimestamp(s)
	return Literal{Kind: KindTimestamp, Str: s, Time: t}
}

// set parses "(a, b, …)". Sets do not nest.
func (p *parser) set() (Literal, *Error) {
	l := Literal{Kind: KindSet}
	if p.tok.kind != tLParen {
		return l, p.unexpected("set constant '(…)' after IN")
	}
	if err := p.next(); err != nil {
		return l, err
	}
	if p.tok.kind == tRParen {
		return l, p.next()
	}
	for {
		at := p.tok.pos
		e, err := p.literal("constant in set", "")
		if err != nil {
			return l, err
		}
		if len(l.Set) > 0 && !sameClass(l.Set[0].Kind, e.Kind) {
			return l, errorf(at, "set elements must share one type: expected %s, found %s", l.Set[0].Kind, e.Kind)
		}
		l.Set = append(l.Set, e)
		switch p.tok.kind {
		case tComma:
			if err := p.next(); err != nil {
				return l, err
			}
		case tRParen:
			return l, p.next()
		default:
			return l, p.unexpected("',' or ')' in set")
		}
	}
}

// sameClass reports whether constants of kinds a and b may share a set:
// the same kind, or both numbers, which compare with one another.
func sameClass(a, b LiteralKind) bool {
	num := func(k LiteralKind) bool { return k == KindInt || k == KindFloat }
	return a == b || num(a) && num(b)
}

// objectPath parses type:prop(.key | .'key' | [n] | [*])*.
func (p *parser) objectPath() (path ObjectPath, err *Error) {
	if p.tok.kind != tIdent && p.tok.kind != tIdentHyphen {
		return path, p.unexpected("object path")
	}
	path.ObjectType = p.text()
	if msg := checkObjectType(path.ObjectType); msg != "" {
		return path, errorf(p.tok.pos, "invalid object type %s: %s", p.found(), msg)
	}
	if err := p.next(); err != nil {
		return path, err
	}
	if err := p.expect(tColon, "':' after object type"); err != nil {
		return path, err
	}
	steps := p.stepBuf()
	key, err := p.key("property name after ':'")
	if err != nil {
		return path, err
	}
	steps = append(steps, PathStep{Kind: KeyStep, Key: key})
	for {
		switch p.tok.kind {
		case tDot:
			if err := p.next(); err != nil {
				return path, err
			}
			key, err := p.key("property name after '.'")
			if err != nil {
				return path, err
			}
			steps = append(steps, PathStep{Kind: KeyStep, Key: key})
			continue
		case tLBrack:
			if err := p.next(); err != nil {
				return path, err
			}
			switch p.tok.kind {
			case tStar:
				steps = append(steps, PathStep{Kind: AnyIndexStep})
			case tInt:
				n, perr := strconv.ParseInt(p.text(), 10, 64)
				if perr != nil {
					return path, errorf(p.tok.pos, "list index %s is out of range", p.found())
				}
				steps = append(steps, PathStep{Kind: IndexStep, Index: n})
			default:
				return path, p.unexpected("list index or '*' after '['")
			}
			if err := p.next(); err != nil {
				return path, err
			}
			if err := p.expect(tRBrack, "']' after list index"); err != nil {
				return path, err
			}
			continue
		}
		break
	}
	path.Steps = p.keepSteps(steps)
	return path, nil
}

// stepBuf returns where the next path's steps go: the free end of a chunk
// shared by all paths of the pattern, so that a pattern's paths cost an
// allocation or two instead of one each. A path longer than the room left
// makes append move it, and only it, to an array of its own.
func (p *parser) stepBuf() []PathStep {
	if cap(p.steps) == len(p.steps) {
		// Most patterns have one to three paths of one to three steps.
		size := 4
		if p.steps != nil {
			size = 16
		}
		p.steps = make([]PathStep, 0, size)
	}
	return p.steps[len(p.steps):len(p.steps)]
}

// keepSteps claims the steps appended to a stepBuf and caps the slice, so
// that an append by a user of the tree cannot overwrite the next path.
func (p *parser) keepSteps(steps []PathStep) []PathStep {
	n := len(steps)
	if n <= cap(p.steps)-len(p.steps) && n > 0 && &steps[0] == &p.steps[len(p.steps):cap(p.steps)][0] {
		p.steps = p.steps[:len(p.steps)+n]
	}
	return steps[:n:n]
}

// key reads a path component: an identifier without hyphens or a quoted
// string.
func (p *parser) key(want string) (string, *Error) {
	var k string
	switch p.tok.kind {
	case tIdent:
		k = p.text()
	case tString:
		k = unquote(p.text(), p.tok.esc)
	case tIdentHyphen:
		return "", errorf(p.tok.pos, "property name %s contains a hyphen and must be quoted: '%s'", p.found(), p.text())
	default:
		return "", p.unexpected(want)
	}
	return k, p.next()
}

// checkObjectType applies the STIX type-name rules (section 3.1 and the
// OASIS JSON schema's pattern for "type"): 3 to 250 characters, lowercase
// ASCII letters, digits and hyphens, starting with a letter, no "--".
// Custom types such as x-usb-device follow the same rules. It returns
// what is wrong, or "".
func checkObjectType(t string) string {
	if len(t) < 3 || len(t) > 250 {
		return "type names are 3 to 250 characters long"
	}
	if t[0] < 'a' || t[0] > 'z' {
		return "type names start with a lowercase letter"
	}
	for i := 1; i < len(t); i++ {
		switch c := t[i]; {
		case 'a' <= c && c <= 'z' || isDigit(c):
		case c == '-':
			if t[i-1] == '-' {
				return "type names must not contain \"--\""
			}
		default:
			return "type names contain only lowercase letters, digits and hyphens"
		}
	}
	return ""
}

// unquote returns the content of a lexed string literal; only when it
// holds escapes does that need a copy.
func unquote(lit string, esc bool) string {
	body := lit[1 : len(lit)-1]
	if !esc {
		return body
	}
	b := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' {
			i++
		}
		b = append(b, body[i])
	}
	return string(b)
}

func dropBreaks(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\n' && s[i] != '\r' {
			b = append(b, s[i])
		}
	}
	return string(b)
}
