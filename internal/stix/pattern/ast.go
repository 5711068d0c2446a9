package pattern

import (
	"strconv"
	"time"
)

// Pattern is a parsed STIX pattern expression.
//
// Trees returned by Parse satisfy the constraints documented on each node
// type; String of such a tree re-parses to an equal tree. A tree built or
// edited by hand prints whatever it holds and is only guaranteed to parse if
// it keeps those constraints.
type Pattern struct {
	// Expr is the whole pattern; never nil in a Pattern returned by Parse.
	Expr ObservationExpr
}

// String returns the canonical text of p: no comments, single spaces between
// tokens, only the parentheses the tree's shape needs, "=" for "==", "!=" for
// "<>", no "+" on numbers, and path components quoted only when they must be.
func (p *Pattern) String() string {
	return string(p.Expr.appendTo(make([]byte, 0, 64)))
}

// ObjectTypes returns the distinct cyber-observable object types (the part
// of each object path before the colon) in the order they first appear.
// Indicators are indexed by these, so the result is never empty for a tree
// returned by Parse.
func (p *Pattern) ObjectTypes() []string {
	var types []string
	seen := map[string]bool(nil)
	walkComparisons(p.Expr, func(c *Comparison) {
		t := c.Path.ObjectType
		if seen != nil {
			if !seen[t] {
				seen[t] = true
				types = append(types, t)
			}
			return
		}
		for _, u := range types {
			if u == t {
				return
			}
		}
		types = append(types, t)
		// Past a handful of types a linear scan costs more than a map.
		if len(types) == 16 {
			seen = make(map[string]bool, 32)
			for _, u := range types {
				seen[u] = true
			}
		}
	})
	return types
}

// Comparisons returns a copy of every comparison in p, left to right as
// written. The copies share Set and Steps backing arrays with the tree.
func (p *Pattern) Comparisons() []Comparison {
	var cs []Comparison
	walkComparisons(p.Expr, func(c *Comparison) { cs = append(cs, *c) })
	return cs
}

// walkComparisons calls f on each comparison under e, left to right. Its
// recursion depth is bounded by the nesting limit Parse enforces.
func walkComparisons(e ObservationExpr, f func(*Comparison)) {
	switch e := e.(type) {
	case *Observation:
		walkComparisonExpr(e.Expr, f)
	case *CompoundObservation:
		for _, o := range e.Operands {
			walkComparisons(o, f)
		}
	case *QualifiedObservation:
		walkComparisons(e.Expr, f)
	}
}

func walkComparisonExpr(e ComparisonExpr, f func(*Comparison)) {
	switch e := e.(type) {
	case *Comparison:
		f(e)
	case *CompoundComparison:
		for _, o := range e.Operands {
			walkComparisonExpr(o, f)
		}
	}
}

// ObservationExpr is one of *Observation, *CompoundObservation or
// *QualifiedObservation. The set is closed: the parser, the printer and
// the walkers know every variant.
type ObservationExpr interface {
	String() string
	appendTo(b []byte) []byte
	obsPrec() int
}

// Printing precedence of observation expressions; a child binding no tighter
// than its parent is parenthesised.
const (
	precFollowedBy = iota + 1
	precOr
	precAnd
	precQualified
	precAtom
)

// Observation is an observation expression in square brackets:
// comparisons that must all hold on a single observed object.
type Observation struct {
	// Expr is never nil.
	Expr ComparisonExpr
}

func (o *Observation) String() string { return string(o.appendTo(nil)) }
func (o *Observation) obsPrec() int   { return precAtom }
func (o *Observation) appendTo(b []byte) []byte {
	b = append(b, '[')
	b = o.Expr.appendTo(b)
	return append(b, ']')
}

// CompoundObservation joins two or more observation expressions with one
// observation operator (And, Or or FollowedBy). A run of the same operator
// written without parentheses is one node with all its operands; an operand
// that is itself a CompoundObservation was parenthesised in the source.
type CompoundObservation struct {
	Op       LogicOp
	Operands []ObservationExpr // at least two, none nil
}

func (c *CompoundObservation) String() string { return string(c.appendTo(nil)) }
func (c *CompoundObservation) obsPrec() int {
	switch c.Op {
	case And:
		return precAnd
	case Or:
		return precOr
	}
	return precFollowedBy
}
func (c *CompoundObservation) appendTo(b []byte) []byte {
	prec := c.obsPrec()
	for i, o := range c.Operands {
		if i > 0 {
			b = append(b, ' ')
			b = append(b, c.Op.String()...)
			b = append(b, ' ')
		}
		b = appendObsOperand(b, o, prec)
	}
	return b
}

func appendObsOperand(b []byte, o ObservationExpr, parentPrec int) []byte {
	if o.obsPrec() > parentPrec {
		return o.appendTo(b)
	}
	b = append(b, '(')
	b = o.appendTo(b)
	return append(b, ')')
}

// QualifiedObservation is an observation expression followed directly by
// one or more qualifiers. Qualifiers holds at most one of each kind, in
// source order. An Expr that is itself a QualifiedObservation was
// parenthesised in the source: "([a] WITHIN 5 SECONDS) WITHIN 9 SECONDS"
// is two nested nodes, not one node with two WITHIN qualifiers.
type QualifiedObservation struct {
	Expr       ObservationExpr // never nil
	Qualifiers []Qualifier     // at least one
}

func (q *QualifiedObservation) String() string { return string(q.appendTo(nil)) }
func (q *QualifiedObservation) obsPrec() int   { return precQualified }
func (q *QualifiedObservation) appendTo(b []byte) []byte {
	b = appendObsOperand(b, q.Expr, precQualified)
	for i := range q.Qualifiers {
		b = append(b, ' ')
		b = q.Qualifiers[i].appendTo(b)
	}
	return b
}

// LogicOp is a boolean or observation operator.
type LogicOp uint8

const (
	And        LogicOp = iota + 1 // binds tighter than Or
	Or                            // binds tighter than FollowedBy
	FollowedBy                    // observation expressions only
)

// String returns the keyword: "AND", "OR" or "FOLLOWEDBY".
func (op LogicOp) String() string {
	switch op {
	case And:
		return "AND"
	case Or:
		return "OR"
	case FollowedBy:
		return "FOLLOWEDBY"
	}
	return "LogicOp(" + strconv.Itoa(int(op)) + ")"
}

// QualifierKind says which qualifier a Qualifier is.
type QualifierKind uint8

const (
	Within    QualifierKind = iota + 1 // WITHIN n SECONDS
	Repeats                            // REPEATS n TIMES
	StartStop                          // START t'…' STOP t'…'
)

// String returns the qualifier's leading keyword.
func (k QualifierKind) String() string {
	switch k {
	case Within:
		return "WITHIN"
	case Repeats:
		return "REPEATS"
	case StartStop:
		return "START"
	}
	return "QualifierKind(" + strconv.Itoa(int(k)) + ")"
}

// Qualifier restricts the observations matching the expression it follows.
// Only the fields of its Kind are set.
type Qualifier struct {
	Kind QualifierKind
	// Seconds is the window of a Within qualifier: finite and positive.
	// Integer and decimal spellings of a count are the same qualifier.
	Seconds float64
	// Times is the count of a Repeats qualifier: at least 1.
	Times int64
	// Start and Stop bound a StartStop qualifier: both KindTimestamp, with
	// Start.Time before Stop.Time.
	Start, Stop Literal
}

func (q *Qualifier) String() string { return string(q.appendTo(nil)) }

func (q *Qualifier) appendTo(b []byte) []byte {
	switch q.Kind {
	case Within:
		b = append(b, "WITHIN "...)
		b = appendNumber(b, q.Seconds)
		return append(b, " SECONDS"...)
	case Repeats:
		b = append(b, "REPEATS "...)
		b = strconv.AppendInt(b, q.Times, 10)
		return append(b, " TIMES"...)
	case StartStop:
		b = append(b, "START "...)
		b = q.Start.appendTo(b)
		b = append(b, " STOP "...)
		return q.Stop.appendTo(b)
	}
	return append(b, "<invalid qualifier>"...)
}

// appendNumber prints a WITHIN count: as an integer when it is one, so that
// "300" stays "300", else as a decimal. Both spellings parse back to f.
func appendNumber(b []byte, f float64) []byte {
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// ComparisonExpr is one of *Comparison or *CompoundComparison.
type ComparisonExpr interface {
	String() string
	appendTo(b []byte) []byte
	cmpPrec() int
}

// CompoundComparison joins two or more comparison expressions with And or
// Or inside one observation expression. As with CompoundObservation, a run
// of one operator is one node and a nested node of the same operator was
// parenthesised in the source. The operands of an And can all be
// satisfied by one object: they share an object type.
type CompoundComparison struct {
	Op       LogicOp          // And or Or
	Operands []ComparisonExpr // at least two, none nil
}

func (c *CompoundComparison) String() string { return string(c.appendTo(nil)) }
func (c *CompoundComparison) cmpPrec() int {
	if c.Op == And {
		return 2
	}
	return 1
}
func (c *CompoundComparison) appendTo(b []byte) []byte {
	prec := c.cmpPrec()
	for i, o := range c.Operands {
		if i > 0 {
			b = append(b, ' ')
			b = append(b, c.Op.String()...)
			b = append(b, ' ')
		}
		if o.cmpPrec() > prec {
			b = o.appendTo(b)
		} else {
			b = append(b, '(')
			b = o.appendTo(b)
			b = append(b, ')')
		}
	}
	return b
}

// Op is a comparison operator.
type Op uint8

const (
	Equal        Op = iota + 1 // = (also written ==)
	NotEqual                   // != (also written <>)
	Less                       // <
	LessEqual                  // <=
	Greater                    // >
	GreaterEqual               // >=
	In                         // IN, Value is a KindSet
	Like                       // LIKE, Value is a KindString
	Matches                    // MATCHES, Value is a KindString
	IsSubset                   // ISSUBSET, Value is a KindString
	IsSuperset                 // ISSUPERSET, Value is a KindString
	Exists                     // EXISTS, Value is the zero Literal
)

var opText = [...]string{
	Equal:        "=",
	NotEqual:     "!=",
	Less:         "<",
	LessEqual:    "<=",
	Greater:      ">",
	GreaterEqual: ">=",
	In:           "IN",
	Like:         "LIKE",
	Matches:      "MATCHES",
	IsSubset:     "ISSUBSET",
	IsSuperset:   "ISSUPERSET",
	Exists:       "EXISTS",
}

// String returns the operator's canonical spelling.
func (op Op) String() string {
	if op >= Equal && int(op) < len(opText) {
		return opText[op]
	}
	return "Op(" + strconv.Itoa(int(op)) + ")"
}

// Comparison tests one property of an object against a constant.
//
// The Value's kind fits the operator: any kind but KindSet for Equal and
// NotEqual; any kind but KindSet and KindBool for the ordering operators;
// KindSet for In; KindString for Like, Matches, IsSubset and IsSuperset
// (the last two holding an IP address or CIDR prefix); none for Exists.
type Comparison struct {
	Path    ObjectPath
	Op      Op
	Negated bool // written with NOT
	Value   Literal
}

func (c *Comparison) String() string { return string(c.appendTo(nil)) }
func (c *Comparison) cmpPrec() int   { return 3 }
func (c *Comparison) appendTo(b []byte) []byte {
	if c.Op == Exists {
		if c.Negated {
			b = append(b, "NOT "...)
		}
		b = append(b, "EXISTS "...)
		return c.Path.appendTo(b)
	}
	b = c.Path.appendTo(b)
	b = append(b, ' ')
	if c.Negated {
		b = append(b, "NOT "...)
	}
	b = append(b, c.Op.String()...)
	b = append(b, ' ')
	return c.Value.appendTo(b)
}

// ObjectPath names a property of a cyber-observable object, such as
// file:extensions.'windows-pebinary-ext'.sections[*].entropy.
type ObjectPath struct {
	// ObjectType is a STIX type name: 3 to 250 characters, lowercase ASCII
	// letters, digits and hyphens, starting with a letter, no "--".
	ObjectType string
	// Steps has at least one element and the first is a KeyStep.
	Steps []PathStep
}

func (p *ObjectPath) String() string { return string(p.appendTo(nil)) }

func (p *ObjectPath) appendTo(b []byte) []byte {
	b = append(b, p.ObjectType...)
	b = append(b, ':')
	for i, s := range p.Steps {
		switch s.Kind {
		case KeyStep:
			if i > 0 {
				b = append(b, '.')
			}
			if isBareKey(s.Key) {
				b = append(b, s.Key...)
			} else {
				b = appendQuoted(b, s.Key)
			}
		case IndexStep:
			b = append(b, '[')
			b = strconv.AppendInt(b, s.Index, 10)
			b = append(b, ']')
		case AnyIndexStep:
			b = append(b, "[*]"...)
		}
	}
	return b
}

// isBareKey reports whether a path key can be printed without quotes: it
// lexes as an identifier without hyphens and is not a keyword.
func isBareKey(k string) bool {
	if k == "" || !isIdentStart(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if !isIdentChar(k[i]) {
			return false
		}
	}
	return keyword(k) == tIdent
}

// StepKind says what a PathStep selects.
type StepKind uint8

const (
	KeyStep      StepKind = iota + 1 // a property or dictionary key: .name or .'quoted-name'
	IndexStep                        // one list element: [n]
	AnyIndexStep                     // every list element: [*]
)

// PathStep is one component of an object path after the colon.
type PathStep struct {
	Kind  StepKind
	Key   string // KeyStep: the unquoted key
	Index int64  // IndexStep: the index as written; negative never matches
}

// LiteralKind is the type of a constant.
type LiteralKind uint8

const (
	KindNone      LiteralKind = iota // no value: the operand of EXISTS
	KindInt                          // Int
	KindFloat                        // Float
	KindString                       // Str, with escapes resolved
	KindBool                         // Bool
	KindBinary                       // Str holds the base64 text, line feeds removed
	KindHex                          // Str holds the hex digits as written
	KindTimestamp                    // Str holds the text between the quotes; Time the instant
	KindSet                          // Set
)

var kindText = [...]string{
	KindNone:      "none",
	KindInt:       "integer",
	KindFloat:     "float",
	KindString:    "string",
	KindBool:      "boolean",
	KindBinary:    "binary",
	KindHex:       "hex",
	KindTimestamp: "timestamp",
	KindSet:       "set",
}

// String names the kind as the specification does: "integer", "string"…
func (k LiteralKind) String() string {
	if int(k) < len(kindText) {
		return kindText[k]
	}
	return "LiteralKind(" + strconv.Itoa(int(k)) + ")"
}

// Literal is a constant. Only the fields its Kind names are set.
type Literal struct {
	Kind  LiteralKind
	Str   string
	Int   int64
	Float float64 // finite
	Bool  bool
	// Time is the instant of a KindTimestamp, in UTC. A leap second
	// (23:59:60) is folded onto the next second, as package time has none;
	// Str keeps the text as written.
	Time time.Time
	// Set holds the elements of a KindSet: none of them a set, all of one
	// kind except that integers and floats mix.
	Set []Literal
}

func (l *Literal) String() string { return string(l.appendTo(nil)) }

func (l *Literal) appendTo(b []byte) []byte {
	switch l.Kind {
	case KindInt:
		return strconv.AppendInt(b, l.Int, 10)
	case KindFloat:
		n := len(b)
		b = strconv.AppendFloat(b, l.Float, 'f', -1, 64)
		// A float must keep its decimal point or it re-parses as an integer.
		for _, c := range b[n:] {
			if c == '.' {
				return b
			}
		}
		return append(b, ".0"...)
	case KindString:
		return appendQuoted(b, l.Str)
	case KindBool:
		return strconv.AppendBool(b, l.Bool)
	case KindBinary:
		b = append(b, "b'"...)
		b = append(b, l.Str...)
		return append(b, '\'')
	case KindHex:
		b = append(b, "h'"...)
		b = append(b, l.Str...)
		return append(b, '\'')
	case KindTimestamp:
		b = append(b, "t'"...)
		b = append(b, l.Str...)
		return append(b, '\'')
	case KindSet:
		b = append(b, '(')
		for i := range l.Set {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = l.Set[i].appendTo(b)
		}
		return append(b, ')')
	}
	return b
}

// appendQuoted writes s as a pattern string literal: apostrophes around,
// backslash and apostrophe escaped, every other byte as is.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '\'')
}
