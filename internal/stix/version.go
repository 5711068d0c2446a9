package stix

// SameVersion reports whether a and b are the same version of the same object:
// the same id and the same version instant (modified, else created), however
// the timestamps are spelt. Two objects that are the same version but differ in
// Digest are a conflict the store must refuse: a version is never rewritten.
//
// Unversioned objects (most SCOs) are the same version when they have the same
// id and the same content, since their content is all that identifies them.
func SameVersion(a, b *Object) bool {
	if a == nil || b == nil || a.ID != b.ID {
		return false
	}
	ka, kb := a.VersionKey(), b.VersionKey()
	if ka == "" && kb == "" {
		return a.Digest == b.Digest
	}
	return ka == kb
}
