package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// originPrefix starts the first line of a checkpoint's text.
const originPrefix = "entraide/audit/v1/"

// FormatCheckpoint returns the text of a checkpoint of the log of node name:
//
//	entraide/audit/v1/<name>
//	<size, decimal>
//	<root hash, standard base64>
//
// each line ending in a newline. It is the layout of the C2SP tlog-checkpoint
// format (origin, size, root) rather than tlog.FormatTree's, whose fixed
// first line "go.sum database tree" does not say whose log it is: a partner's
// cosignature of our tree would then be the very signature its own
// checkpoint of a tree with that root carries, and could be passed off as
// its claim about its own log. Naming the log in the signed text makes a
// cosignature say "I saw this state of that node's log" and nothing else.
func FormatCheckpoint(name string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s%s\n%d\n%s\n", originPrefix, name, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// ParseCheckpoint parses the text of a checkpoint (not a signed note: open
// the note first) and returns the log's node name and its tree. It accepts
// exactly what FormatCheckpoint produces, for a size of at least 1.
func ParseCheckpoint(text []byte) (name string, t tlog.Tree, err error) {
	bad := func(why string) (string, tlog.Tree, error) {
		return "", tlog.Tree{}, fmt.Errorf("%w: checkpoint: %s", ErrInvalid, why)
	}
	s := string(text)
	if len(s) > 1024 || strings.Count(s, "\n") != 3 || !strings.HasSuffix(s, "\n") {
		return bad("want three lines")
	}
	lines := strings.SplitN(s, "\n", 4)
	origin, size, root := lines[0], lines[1], lines[2]
	name, ok := strings.CutPrefix(origin, originPrefix)
	if !ok || !validName(name) {
		return bad(fmt.Sprintf("origin %q is not %s<node name>", origin, originPrefix))
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != size {
		return bad(fmt.Sprintf("size %q", size))
	}
	h, err := base64.StdEncoding.DecodeString(root)
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != root {
		return bad(fmt.Sprintf("root hash %q", root))
	}
	t.N = n
	copy(t.Hash[:], h)
	return name, t, nil
}

// validName is what a note key name may be (and more strictly, what node
// names are: lowercase letters, digits, hyphens, dots).
func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// NewVerifier returns the note verifier of node name's Ed25519 public key:
// what a partner needs to check that node's checkpoints and cosignatures.
func NewVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: node name %q", ErrInvalid, name)
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("audit: verifier of %s: %w", name, err)
	}
	return note.NewVerifier(vkey)
}

// NewSigner returns the note signer of node name with its Ed25519 key, and
// its verifier.
func NewSigner(name string, key ed25519.PrivateKey) (note.Signer, note.Verifier, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalid, len(key))
	}
	v, err := NewVerifier(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, nil, err
	}
	return &signer{name: name, hash: v.KeyHash(), key: key}, v, nil
}

type signer struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

func (s *signer) Name() string                    { return s.name }
func (s *signer) KeyHash() uint32                 { return s.hash }
func (s *signer) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// openCheckpoint verifies a signed checkpoint of node name's log with one
// of vs (node name's keys), and parses it.
func openCheckpoint(signed []byte, name string, vs ...note.Verifier) (*note.Note, tlog.Tree, error) {
	if len(signed) > maxNote {
		return nil, tlog.Tree{}, fmt.Errorf("%w: checkpoint of %d bytes", ErrInvalid, len(signed))
	}
	for _, v := range vs {
		if v.Name() != name {
			return nil, tlog.Tree{}, fmt.Errorf("%w: verifier is %q's, not %q's", ErrInvalid, v.Name(), name)
		}
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		return nil, tlog.Tree{}, fmt.Errorf("%w: checkpoint signed by %s: %v", ErrInvalid, name, err)
	}
	origin, t, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return nil, tlog.Tree{}, err
	}
	if origin != name {
		return nil, tlog.Tree{}, fmt.Errorf("%w: checkpoint of %q's log, signed by %q", ErrInvalid, origin, name)
	}
	return n, t, nil
}

// maxNote bounds the signed notes this package accepts.
const maxNote = 16 << 10
